-- Seed 001 "subprocess": start a program, feed its stdin and read its
-- stdout/stderr with communicate(). The seed runs `nslookup` with
-- "set q=mx / python.org / exit" on stdin; this machine is offline and has
-- no nslookup, so the same pattern drives `sh` instead: the commands on
-- stdin are executed one by one, output goes to stdout and stderr.
local subprocess = require "subprocess"

print("$ sh")
local p = subprocess.Popen{args = {"sh"}, stdin = subprocess.PIPE,
                           stdout = subprocess.PIPE, stderr = subprocess.PIPE}
local output, err = p:communicate("echo set q=mx\necho python.org mail exchanger = 50 mail.python.org.\necho oops >&2\nexit\n")
io.write(output)
print("Errors:", (err:gsub("\n$", "")))
print("Exit code:", p.returncode)
