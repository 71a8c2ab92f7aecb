# The test image's program: what it prints depends on the config
# (user, groups, working directory, environment), the files of each
# layer, and what the later layer removed or replaced.
echo "args: $*"
echo "id: $(id)"
echo "pwd: $(pwd)"
echo "env: GREETING=$GREETING APP_MODE=$APP_MODE HOME=$HOME"
cat data/orig.txt
head -c 40 data/scgi_params; echo
cat /etc/nginx/snippets/new.conf
test -e /etc/nginx/koi-utf && echo "koi-utf is back" || echo "koi-utf is gone"
echo scratch > /tmp/written-by-the-app && echo "wrote /tmp"
