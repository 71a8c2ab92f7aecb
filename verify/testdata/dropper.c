/* dropper drops to uid and gid 65534 without exec, as a server's worker
   does, then opens the file it is given: exit 0 when it is there, 1 when
   it is not. The verify tests run it in images that lack that file. */
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: dropper FILE\n");
		return 2;
	}
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534)) {
		perror("dropping privileges");
		return 2;
	}
	if (open(argv[1], O_RDONLY) < 0) {
		perror(argv[1]);
		return 1;
	}
	return 0;
}
