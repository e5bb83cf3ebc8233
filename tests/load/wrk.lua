-- wrk script of tests/load/run.sh: the requests of a run, and a count of the
-- answers by status, which wrk itself does not give (it lumps every non-2xx
-- together).  Set by the environment:
--
--   LOAD_MIX     "search": every request is LOAD_SEARCH (the default)
--                "mixed": 35% LOAD_SEARCH (a JSON page of up to 1000 rows),
--                45% /api/messages/ID (an ID of LOAD_IDS, at random), 18%
--                LOAD_CSV, 2% POST /login (a form body of LOAD_LOGINS)
--   LOAD_SEARCH  the search path (/api/search?to=%40example.com)
--   LOAD_CSV     the CSV path (/api/search.csv?to=%40example.com)
--   LOAD_IDS     a file of message IDs, one a line
--   LOAD_COOKIE  sent as the Cookie header (a session), when set
--   LOAD_LOGINS  a file of login forms, "name=...&password=...", one a line:
--                each thread takes them in turn, from its own place.  A
--                login counts as a failure of its account until it succeeds,
--                so that guesses sent side by side are braked too: from 5
--                logins of one account at once, the next are 429.  Many
--                accounts taken in turn keep that from happening.
--
-- done() prints lines "STAT key value" that run.sh reads: requests, seconds,
-- p50_us, p99_us, socket errors (connect, read, write, timeout), answers by
-- status and requests by kind.

local threads = {}

function setup(thread)
	thread:set("tid", #threads + 1)
	table.insert(threads, thread)
end

local mix, search, csv, logins, nlogin, ids, headers

local function read_lines(f)
	local t = {}
	if f and f ~= "" then
		for line in io.lines(f) do
			if line ~= "" then
				table.insert(t, line)
			end
		end
	end
	return t
end

function init(args)
	mix = os.getenv("LOAD_MIX") or "search"
	search = os.getenv("LOAD_SEARCH") or "/api/search?to=%40example.com"
	csv = os.getenv("LOAD_CSV") or "/api/search.csv?to=%40example.com"
	logins = read_lines(os.getenv("LOAD_LOGINS"))
	headers = {}
	local cookie = os.getenv("LOAD_COOKIE")
	if cookie and cookie ~= "" then
		headers["Cookie"] = cookie
	end
	ids = read_lines(os.getenv("LOAD_IDS"))
	if mix == "mixed" and (#ids == 0 or #logins == 0) then
		error("LOAD_MIX=mixed needs message IDs in LOAD_IDS and logins in LOAD_LOGINS")
	end
	nlogin = tid * 7
	math.randomseed(tid * 7919)
	statuses = {}
	kinds = {}
end

local function count(kind)
	kinds[kind] = (kinds[kind] or 0) + 1
end

function request()
	if mix ~= "mixed" then
		count("search")
		return wrk.format("GET", search, headers)
	end
	local r = math.random(100)
	if r <= 35 then
		count("search")
		return wrk.format("GET", search, headers)
	elseif r <= 80 then
		count("message")
		return wrk.format("GET", "/api/messages/" .. ids[math.random(#ids)], headers)
	elseif r <= 98 then
		count("csv")
		return wrk.format("GET", csv, headers)
	else
		count("login")
		nlogin = nlogin + 1
		return wrk.format("POST", "/login",
			{ ["Content-Type"] = "application/x-www-form-urlencoded" },
			logins[nlogin % #logins + 1])
	end
end

function response(status, hdrs, body)
	statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
	local st, kd = {}, {}
	for _, t in ipairs(threads) do
		for k, v in pairs(t:get("statuses")) do
			st[k] = (st[k] or 0) + v
		end
		for k, v in pairs(t:get("kinds")) do
			kd[k] = (kd[k] or 0) + v
		end
	end
	local e = summary.errors
	io.write(string.format("STAT requests %d\n", summary.requests))
	io.write(string.format("STAT seconds %.3f\n", summary.duration / 1e6))
	io.write(string.format("STAT p50_us %d\n", latency:percentile(50)))
	io.write(string.format("STAT p99_us %d\n", latency:percentile(99)))
	io.write(string.format("STAT socket_errors %d\n", e.connect + e.read + e.write + e.timeout))
	io.write(string.format("STAT socket_detail connect=%d,read=%d,write=%d,timeout=%d\n",
		e.connect, e.read, e.write, e.timeout))
	for k, v in pairs(st) do
		io.write(string.format("STAT status_%d %d\n", k, v))
	end
	for k, v in pairs(kd) do
		io.write(string.format("STAT kind_%s %d\n", k, v))
	end
end
