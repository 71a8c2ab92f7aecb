package fanotify

const sysStatx = 332
