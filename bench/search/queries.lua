-- wrk: hybrid search (lexical + dense, no re-rank, no expansion, no HyDE) over the labelled
-- shopper queries, in turn.
local queries = {}
for line in io.lines("../shared/eval/dev.jsonl") do
  local q = line:match('"query":%s*"([^"]*)"')
  if q then queries[#queries + 1] = q:gsub(" ", "%%20") end
end
local i = 0
request = function()
  i = i % #queries + 1
  return wrk.format("GET", "/api/v1/search?limit=20&expansion=off&hyde=off&rerank=false&q=" .. queries[i])
end
