-- Run by tests/scripts/gil_module_io.lua under lua5.4 and gillua: where
-- require looks and what it finds for Debian's lua-* modules for 5.4.
print("path", package.path)
print("cpath", package.cpath)
for _, name in ipairs{"socket", "socket.core", "socket.http", "socket.url", "ltn12",
                      "mime", "mime.core", "no.such.module"} do
  print(name, package.searchpath(name, package.path), package.searchpath(name, package.cpath))
end
local socket = require "socket"
print(socket._VERSION, type(socket.gettime), type(require("socket.http").request),
      type(require("mime").b64), require("mime").b64("gillua"))
print(pcall(require, "no.such.module"))
