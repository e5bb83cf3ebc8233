# plot.gp — the plots of the benchmark report (gnuplot, PNG).  bench/run.sh calls
#   gnuplot -e "mode='latency'; in='CDF.dat'; out='X.png'; n='N'; blocks=7" bench/plot.gp
#       latency distribution per query class (cumulative, log scale), from the
#       blocks written from bench_search --latencies
#   gnuplot -e "mode='size'; in='sizes.tsv'; out='X.png'" bench/plot.gp
#   gnuplot -e "mode='scaling'; in='sizes.tsv'; out='X.png'" bench/plot.gp
#       database size, and search p50/p99 per class, against messages
#   gnuplot -e "mode='ingest'; in='RATE.tsv'; out='X.png'; n='N'" bench/plot.gp
#       ingest lines/s over time (RATE.tsv: seconds since the start, lines/s
#       in the last half second, lines/s since the start)
# sizes.tsv columns: messages, lines, log bytes, mtalog db bytes, FTS5 db
# bytes, ingest s (mtalog, FTS5), then p50 and p99 µs of recipient address,
# recipient domain, two subject words, status + domain, then SQLite B-tree db
# bytes and load s.
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 900,560 font "sans,10"
} else {
	set terminal png size 900,560
}
set output out
set grid
set key left top
if (mode eq 'latency') {
	set title sprintf("mtalog search latency, %s messages (in process, map populated)", n)
	set logscale x
	set xlabel "latency (µs)"
	set ylabel "fraction of queries at most this fast"
	set yrange [0:1]
	set key right bottom
	plot for [i=0:blocks-1] in index i using 1:2 with lines lw 2 title columnheader(1)
}
if (mode eq 'size') {
	set title "database size against messages"
	set logscale xy
	set xlabel "messages"
	set ylabel "MB"
	plot in using 1:($3/1e6) with linespoints lw 2 title "raw log", \
	     in using 1:($4/1e6) with linespoints lw 2 title "mtalog database", \
	     in using 1:($5/1e6) with linespoints lw 2 title "SQLite FTS5 (rows only)", \
	     in using 1:($16/1e6) with linespoints lw 2 title "SQLite B-tree indexes (rows only)"
}
if (mode eq 'scaling') {
	set title "mtalog search latency against messages (in process, map populated)"
	set logscale xy
	set xlabel "messages"
	set ylabel "µs"
	plot in using 1:8 with linespoints lw 2 dt 2 lc 1 title "recipient address p50", \
	     in using 1:9 with linespoints lw 2 lc 1 title "recipient address p99", \
	     in using 1:10 with linespoints lw 2 dt 2 lc 2 title "recipient domain p50", \
	     in using 1:11 with linespoints lw 2 lc 2 title "recipient domain p99", \
	     in using 1:12 with linespoints lw 2 dt 2 lc 3 title "two subject words p50", \
	     in using 1:13 with linespoints lw 2 lc 3 title "two subject words p99", \
	     in using 1:14 with linespoints lw 2 dt 2 lc 4 title "status + domain p50", \
	     in using 1:15 with linespoints lw 2 lc 4 title "status + domain p99"
}
if (mode eq 'ingest') {
	set title sprintf("mtalog ingest rate over time, %s messages (durable, all indexes)", n)
	set xlabel "seconds since the start"
	set ylabel "lines/s"
	set yrange [0:*]
	set key right bottom
	plot in using 1:2 with lines lw 1 title "lines/s, each half second", \
	     in using 1:3 with lines lw 2 title "lines/s since the start", \
	     300000 with lines dt 2 lw 1 title "floor 300,000", \
	     1000000 with lines dt 3 lw 1 title "goal 1,000,000"
}
