package fanotify

const sysStatx = 291
