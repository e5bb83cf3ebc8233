# rows.awk — the rows (message x recipient) that a set of Postfix log lines
# shows for one question, as an administrator reads them from grep's or
# exigrep's output.  Used by bench/run.sh to check a baseline's answer against
# mtalog's; it is not timed.
#
#   awk -f bench/rows.awk -v mode=addr|domain|words -v q=VALUE [-v w1=A -v w2=B]
#       -v ref=YYYY-MM [-v noq=0|1] [-v qlines=0|1] FILE...
#
# Lines are in the traditional syslog format that bench/gen writes by default
# ("Nov  1 00:00:07 mx1 postfix/cleanup[17920]: 6C2482481CD: ..."), in UTC,
# without a year: a line's year is that of ref (the newest message's year and
# month), or the one before for a month after ref's (a log across New Year).
#
# A row is named by a line that names a recipient:
#   - a delivery attempt:  QID: to=<T>, [orig_to=<O>,] relay=..., status=...
#   - a refusal or hold:   QID: reject: / milter-reject: / hold: / discard: ... to=<T>
#   - a NOQUEUE reject:    NOQUEUE: reject: RCPT ...; from=<S> to=<T> proto=...
#     (smtpd or postscreen), one row per line.
# The question:
#   addr    T or O is the address q (case-insensitive)
#   domain  T's or O's domain is q
#   words   the message's Subject (from its "header Subject:" line) has the
#           words w1 and w2 (ASCII letters and digits, lowercase), as mtalog
#           splits words: runs of ASCII letters and digits.  MIME encoded-words
#           (=?charset?B|Q?...?=) are not decoded: grep cannot read them either.
# Output, one line per row: host TAB queue ID ("" for NOQUEUE) TAB recipient
# (lowercase) TAB time of the message's first line (RFC 3339, UTC).
# noq=0 skips NOQUEUE lines, qlines=0 skips the others (default: both read).
BEGIN {
	FS = " "
	if (noq == "") noq = 1
	if (qlines == "") qlines = 1
	q = tolower(q); w1 = tolower(w1); w2 = tolower(w2)
	split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", mn, " ")
	for (i = 1; i <= 12; i++) mon[mn[i]] = i
	refyear = substr(ref, 1, 4) + 0; refmon = substr(ref, 6, 2) + 0
}
function stamp() { return sprintf("%04d-%02d-%02dT%sZ", mon[$1] > refmon ? refyear - 1 : refyear, mon[$1], $2, $3) }
function addr_at(s, p,    t) {	# the address in <...> starting at p ("to=<" at p - 4)
	t = substr(s, p)
	return tolower(substr(t, 1, index(t, ">") - 1))
}
function domain(a,    i) {
	i = match(a, /@[^@]*$/)
	return i ? substr(a, i + 1) : ""
}
function hasword(s, w) {
	return match(s, "(^|[^a-z0-9])" w "([^a-z0-9]|$)") > 0
}
function asks(t, o,    s) {
	if (mode == "addr") return t == q || (o != "" && o == q)
	if (mode == "domain") return domain(t) == q || (o != "" && domain(o) == q)
	return 0
}
$6 == "NOQUEUE:" {
	if (!noq) next
	p = index($0, " to=<")
	if (!p) next
	t = addr_at($0, p + 5)
	if (mode != "words" && asks(t, "")) print $4 "\t\t" t "\t" stamp()
	next
}
{
	if (!qlines) next
	id = $6
	if (id !~ /^[0-9A-Za-z]+:$/ || length(id) < 11 || id !~ /[0-9A-Z]/) next
	id = substr(id, 1, length(id) - 1)
	key = $4 "\t" id
	if (!(key in first)) first[key] = stamp()
	if ((p = index($0, ": header Subject: ")) > 0) {
		s = substr($0, p + 18)
		e = index(s, "; from=<")
		if (e) s = substr(s, 1, e - 1)
		# the subject ends at the last " from " (the client) before "; from=<"
		n = 0
		while ((fi = index(substr(s, n + 1), " from ")) > 0) n += fi
		if (n) s = substr(s, 1, n - 1)
		gsub(/=\?[^?]*\?[BbQq]\?[^?]*\?=/, " ", s)
		subj[key] = tolower(s)
	}
	if ($7 ~ /^to=</) {
		t = addr_at($0, index($0, ": to=<") + 6)
		o = ""
		if ((p = index($0, ", orig_to=<")) > 0) o = addr_at($0, p + 11)
		rc[key "\t" t] = o
	} else if ($7 == "reject:" || $7 == "milter-reject:" || $7 == "hold:" || $7 == "discard:") {
		if ((p = index($0, " to=<")) > 0) {
			t = addr_at($0, p + 5)
			if (!((key "\t" t) in rc)) rc[key "\t" t] = ""
		}
	}
}
END {
	for (r in rc) {
		split(r, f, "\t")
		key = f[1] "\t" f[2]
		if (mode == "words") {
			if (!(key in subj) || !hasword(subj[key], w1) || !hasword(subj[key], w2)) continue
		} else if (!asks(f[3], rc[r]))
			continue
		print r "\t" first[key]
	}
}
