# exigrep.awk — exigrep's way with a Postfix log: group the lines by
# (host, queue ID), print whole the groups in which a line matches.
#
#   awk -f bench/exigrep.awk -v s1=TEXT [-v s2=WORD -v s3=WORD] LOG
#
# A line matches when it contains the fixed string s1 and, case-insensitively,
# s2 and s3 when given (e.g. s1="header Subject:" and two words).  A group is
# printed when Postfix logs "removed" for the queue ID (the message is done) or
# at the end of the input; a NOQUEUE line (no group) is printed alone when it
# matches.  Like exigrep, it reads the whole log once per question; only the
# messages in flight are held in memory.
BEGIN { FS = " "; s2 = tolower(s2); s3 = tolower(s3) }
function hit(    l) {
	if (!index($0, s1)) return 0
	if (s2 == "" && s3 == "") return 1
	l = tolower($0)
	return index(l, s2) && index(l, s3)
}
$6 == "NOQUEUE:" { if (hit()) print; next }
{
	id = $6
	if (id !~ /^[0-9A-Za-z]+:$/ || length(id) < 11 || id !~ /[0-9A-Z]/) next
	k = $4 " " id
	g[k] = (k in g) ? g[k] "\n" $0 : $0
	if (!(k in m) && hit()) m[k] = 1
	if ($7 == "removed") {
		if (k in m) { print g[k]; delete m[k] }
		delete g[k]
	}
}
END { for (k in m) print g[k] }
