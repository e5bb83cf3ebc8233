# The peer-fixture agreement rows the parser tests print in the corpus tier
# ("grok peer suite: ..." from test_postfix, "peer: ..." from test_exim,
# test_sendmail, test_filters), as one table per suite.  Exits 1 when a
# row's "differ" count is not 0.
/^(grok peer suite|peer): / {
	sub(/^(grok peer suite|peer): /, "")
	if ($1 == "fixture") {
		differ = 0
		for (i = 1; i <= NF; i++)
			if ($i == "differ")
				differ = i
		printf "%s\n", (n++ ? "\n" : "") $0
		next
	}
	print
	if (differ && $differ != 0) {
		bad++
		printf "peers: %s differs\n", $1 > "/dev/stderr"
	}
}
END { exit bad ? 1 : 0 }
