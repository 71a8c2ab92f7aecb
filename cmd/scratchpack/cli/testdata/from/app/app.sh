# The test image's program: what it prints depends on the config
# (user, groups, working directory, environment), the files of every
# layer, and what a later layer removed.
echo "args: $*"
echo "id: $(id)"
echo "pwd: $(pwd)"
echo "env: GREETING=$GREETING APP_MODE=$APP_MODE HOME=$HOME"
cat data/orig.txt data/link.txt
ls cache
test -e data/removed.txt && echo "removed.txt is back" || echo "removed.txt is gone"
test -e cache/old.txt && echo "old.txt is back" || echo "old.txt is gone"
echo "links: $(stat -c %h data/orig.txt)"
echo scratch > /tmp/written-by-the-app && echo "wrote /tmp"
