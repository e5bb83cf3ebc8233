# compare.awk — is a baseline's answer the same set of rows as mtalog's?
#
#   awk -f bench/compare.awk -v label=TEXT [-v limit=1000] [-v allow=FILE] MTALOG BASELINE
#
# Both files: one row a line, fields separated by TABs, the last one the row's
# time (RFC 3339, UTC); the other fields are the row's identity (host, queue
# ID, recipient, and maybe status).  Rows are compared as multisets.
#
# mtalog answers the newest `limit` rows.  If it returned fewer, the two sets
# must be equal.  If it returned `limit` rows (the answer is cut), each of its
# rows must be in the baseline's, and each baseline row newer than mtalog's
# oldest must be in mtalog's (rows of the oldest second may fall either side
# of the cut).
#
# allow: lines "host TAB queue ID" of messages that the baseline cannot see
# (grep and a MIME-encoded subject): their rows may be missing from the
# baseline's answer; they are counted as "unseen".
#
# Prints one line "label: ok ..." and exits 0, or prints what differs (at
# most 5 rows each way) and exits 1.
BEGIN {
	FS = "\t"
	if (limit == "") limit = 1000
	if (allow != "")
		while ((getline line < allow) > 0) ok[line] = 1
}
{ file = FILENAME == ARGV[1] ? 1 : 2 }
{
	t = $NF
	k = $1
	for (i = 2; i < NF; i++) k = k "\t" $i
	if (file == 1) {
		ca[k]++; na++
		if (tmin == "" || t < tmin) tmin = t
	} else {
		cb[k]++; nb++
		bt[nb] = t; bk[nb] = k
	}
}
END {
	cut = na >= limit
	for (k in ca) {
		d = ca[k] - cb[k]
		if (d <= 0) continue
		split(k, f, "\t")
		if ((f[1] "\t" f[2]) in ok) { unseen += d; continue }
		nmiss += d
		if (nmiss <= 5) miss = miss "\n    only mtalog:   " k
	}
	if (cut) {
		for (i = 1; i <= nb; i++) if (bt[i] > tmin) newer[bk[i]]++
		for (k in newer) {
			d = newer[k] - ca[k]
			if (d <= 0) continue
			nextra += d
			if (nextra <= 5) extra = extra "\n    only baseline: " k
		}
	} else
		for (k in cb) {
			d = cb[k] - ca[k]
			if (d <= 0) continue
			nextra += d
			if (nextra <= 5) extra = extra "\n    only baseline: " k
		}
	how = cut ? " (mtalog's answer cut at " limit ", compared down to " tmin ")" : ""
	if (nmiss || nextra) {
		printf "MISMATCH %s: mtalog %d rows, baseline %d rows%s; %d only in mtalog, %d only in the baseline%s%s\n",
		    label, na, nb, how, nmiss, nextra, miss, extra
		exit 1
	}
	printf "%s: ok, %d rows%s%s\n", label, na, unseen ? sprintf(", %d not seen by the baseline (MIME-encoded subject)", unseen) : "", how
}
