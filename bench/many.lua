-- bench/many.lua: wrk script for bench.sh's "many" scenario, GETs of paths drawn at random from a list.
--
--   wrk -t1 -c100 -d5s -s bench/many.lua http://127.0.0.1:PORT -- PATHLIST
--
-- PATHLIST has one URL path a line (/many/07/f0123.html). Every request is
-- formatted once, in init, so that the client spends its time on the
-- network and not on building requests: a per-request wrk.format would
-- slow wrk enough to measure the client. The generator is seeded with a
-- constant, so every server gets the same sequence of paths.

local requests = {}

function init(args)
    local list = args[1]
    if not list then
        error("many.lua: give the path list after --")
    end
    for path in io.lines(list) do
        if path ~= "" then
            requests[#requests + 1] = wrk.format("GET", path)
        end
    end
    if #requests == 0 then
        error("many.lua: no paths in " .. list)
    end
    math.randomseed(16)
end

function request()
    return requests[math.random(#requests)]
end
