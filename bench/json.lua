-- json.lua — a small JSON encoder and decoder for the benchmark harness,
-- the report writers and their tests (plain Lua 5.4, no C).
--
-- encode(v): tables with keys 1..n (n >= 1) are arrays, other tables are
-- objects with keys sorted (so output is stable); json.null encodes null;
-- an empty table encodes as {} unless it is json.array{}. NaN and the
-- infinities have no JSON form and encode as null. Integers keep their
-- form; floats are written with enough digits to read back the same.
-- decode(s): returns the value, or raises "json: <what> at byte N".
-- Arrays decode as sequences marked with json.array's metatable; null
-- decodes to json.null (so nulls in arrays keep their positions).

local json = {}

json.null = setmetatable({}, {__tostring = function() return "null" end})
local array_mt = {__name = "json.array"}
function json.array(t) return setmetatable(t or {}, array_mt) end

local escapes = {['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b',
                 ['\f'] = '\\f', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t'}

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function is_array(t)
  if getmetatable(t) == array_mt then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

local function encode(v, out, depth)
  local ty = type(v)
  if depth > 100 then error("json: nesting too deep") end
  if v == nil or v == json.null then out[#out + 1] = "null"
  elseif ty == "boolean" then out[#out + 1] = tostring(v)
  elseif ty == "number" then
    if math.type(v) == "integer" then out[#out + 1] = string.format("%d", v)
    elseif v ~= v or v == math.huge or v == -math.huge then out[#out + 1] = "null"
    else
      local s = string.format("%.14g", v)
      if tonumber(s) ~= v then s = string.format("%.17g", v) end
      if s:match("^-?%d+$") then s = s .. ".0" end   -- a float stays a float
      out[#out + 1] = s
    end
  elseif ty == "string" then out[#out + 1] = encode_string(v)
  elseif ty == "table" then
    if is_array(v) then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], out, depth + 1)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do
        if type(k) ~= "string" then
          error("json: object key of type " .. type(k) .. " (" .. tostring(k) .. ")")
        end
        keys[#keys + 1] = k
      end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = encode_string(k)
        out[#out + 1] = ":"
        encode(v[k], out, depth + 1)
      end
      out[#out + 1] = "}"
    end
  else
    error("json: cannot encode a " .. ty)
  end
end

function json.encode(v)
  local out = {}
  encode(v, out, 0)
  return table.concat(out)
end

-- Pretty form for files people read: one array element / object member a line
-- at the top two levels only (keeps report.json readable and diffable).
function json.encode_pretty(v)
  if type(v) ~= "table" or is_array(v) then return json.encode(v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys)
  local lines = {}
  for _, k in ipairs(keys) do
    local val = v[k]
    local s
    if type(val) == "table" and is_array(val) and #val > 0 then
      local items = {}
      for i = 1, #val do items[i] = "    " .. json.encode(val[i]) end
      s = "[\n" .. table.concat(items, ",\n") .. "\n  ]"
    else
      s = json.encode(val)
    end
    lines[#lines + 1] = "  " .. encode_string(k) .. ": " .. s
  end
  return "{\n" .. table.concat(lines, ",\n") .. "\n}\n"
end

---------------------------------------------------------------- decoding

local function fail(what, pos) error(string.format("json: %s at byte %d", what, pos), 0) end

local decode_value

local function skip(s, pos)
  return s:find("[^ \t\r\n]", pos) or #s + 1
end

local function decode_string(s, pos)
  local out, i = {}, pos + 1
  while true do
    local c = s:sub(i, i)
    if c == "" then fail("unterminated string", pos) end
    if c == '"' then return table.concat(out), i + 1 end
    if c == "\\" then
      local e = s:sub(i + 1, i + 1)
      local simple = ({b = "\b", f = "\f", n = "\n", r = "\r", t = "\t",
                       ['"'] = '"', ["\\"] = "\\", ["/"] = "/"})[e]
      if simple then out[#out + 1] = simple; i = i + 2
      elseif e == "u" then
        local hex = s:sub(i + 2, i + 5)
        if not hex:match("^%x%x%x%x$") then fail("bad \\u escape", i) end
        local cp = tonumber(hex, 16)
        i = i + 6
        if cp >= 0xD800 and cp <= 0xDBFF and s:sub(i, i + 1) == "\\u" then
          local lo = tonumber(s:sub(i + 2, i + 5), 16)
          if lo and lo >= 0xDC00 and lo <= 0xDFFF then
            cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
            i = i + 6
          end
        end
        out[#out + 1] = utf8.char(cp)
      else fail("bad escape", i) end
    elseif c:byte() < 0x20 then fail("control character in string", i)
    else
      local j = s:find('["\\%c]', i)
      if not j then fail("unterminated string", pos) end
      out[#out + 1] = s:sub(i, j - 1)
      i = j
    end
  end
end

function decode_value(s, pos, depth)
  if depth > 200 then fail("nesting too deep", pos) end
  pos = skip(s, pos)
  local c = s:sub(pos, pos)
  if c == "{" then
    local obj = {}
    pos = skip(s, pos + 1)
    if s:sub(pos, pos) == "}" then return obj, pos + 1 end
    while true do
      if s:sub(pos, pos) ~= '"' then fail("expected a string key", pos) end
      local k
      k, pos = decode_string(s, pos)
      pos = skip(s, pos)
      if s:sub(pos, pos) ~= ":" then fail("expected ':'", pos) end
      obj[k], pos = decode_value(s, pos + 1, depth + 1)
      pos = skip(s, pos)
      local d = s:sub(pos, pos)
      if d == "}" then return obj, pos + 1 end
      if d ~= "," then fail("expected ',' or '}'", pos) end
      pos = skip(s, pos + 1)
    end
  elseif c == "[" then
    local arr = json.array{}
    pos = skip(s, pos + 1)
    if s:sub(pos, pos) == "]" then return arr, pos + 1 end
    while true do
      arr[#arr + 1], pos = decode_value(s, pos, depth + 1)
      pos = skip(s, pos)
      local d = s:sub(pos, pos)
      if d == "]" then return arr, pos + 1 end
      if d ~= "," then fail("expected ',' or ']'", pos) end
      pos = pos + 1
    end
  elseif c == '"' then
    return decode_string(s, pos)
  elseif c == "t" and s:sub(pos, pos + 3) == "true" then return true, pos + 4
  elseif c == "f" and s:sub(pos, pos + 4) == "false" then return false, pos + 5
  elseif c == "n" and s:sub(pos, pos + 3) == "null" then return json.null, pos + 4
  else
    local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
    if not num or num == "" or num == "-" then
      fail(c == "" and "unexpected end" or "unexpected '" .. c .. "'", pos)
    end
    local v = math.tointeger(tonumber(num)) or tonumber(num)
    if num:find("[.eE]") then v = tonumber(num) + 0.0 end
    if v == nil then fail("bad number '" .. num .. "'", pos) end
    return v, pos + #num
  end
end

function json.decode(s)
  if type(s) ~= "string" then error("json: decode expects a string, got " .. type(s), 2) end
  local v, pos = decode_value(s, 1, 0)
  pos = skip(s, pos)
  if pos <= #s then fail("trailing characters", pos) end
  return v
end

-- nil for json.null, the value otherwise.
function json.value(v) if v == json.null then return nil end return v end

return json
