-- wrk script for scripts/bench.sh: a read-heavy mix on the todo API.
-- 95% `GET /todos/{id}` of seeded todos, 5% `POST /todos`.
--   wrk -s scripts/wrk-todos.lua URL -- IDS_FILE
dofile("scripts/wrk-report.lua")

local ids = {}

init = function(args)
  for line in io.lines(args[1]) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  if #ids == 0 then error("no todo ids in " .. tostring(args[1])) end
  math.randomseed(os.time())
end

request = function()
  if math.random(100) <= 5 then
    return wrk.format("POST", "/todos", { ["content-type"] = "application/json" },
      '{"title": "written under load"}')
  end
  return wrk.format("GET", "/todos/" .. ids[math.random(#ids)])
end
