#!/bin/bash
# The probe: one HTTP request to the server, with bash alone.
exec 3<>/dev/tcp/127.0.0.1/8080 || exit 1
printf 'GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
grep -q 'hello from a scratch nginx' <&3
