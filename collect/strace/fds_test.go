package strace

import (
	"maps"
	"testing"
)

// FuzzFDTable: an fdTable answers as a map would, through sets, deletes
// and clones, for small, large and negative fds and empty paths.
func FuzzFDTable(f *testing.F) {
	f.Add([]byte{0, 3, 1, 0, 3, 2, 3, 0, 200, 1, 7, 3})
	f.Add([]byte{0, 255, 0, 0, 0, 1, 1, 255, 2, 9})
	f.Fuzz(func(t *testing.T, ops []byte) {
		paths := []string{"/a", "/b/c", ""}
		tab, model := &fdTable{}, map[int]string{}
		var clones []*fdTable
		var models []map[int]string
		for i := 0; i+2 < len(ops); i += 3 {
			fd := int(int8(ops[i+1])) * 7 // negative, small and past maxLowFD
			switch ops[i] % 4 {
			case 0:
				p := paths[int(ops[i+2])%len(paths)]
				tab.set(fd, p)
				model[fd] = p
			case 1:
				tab.del(fd)
				delete(model, fd)
			case 2:
				clones, models = append(clones, tab.clone()), append(models, maps.Clone(model))
			case 3:
				tab.set(fd+maxLowFD, "/high")
				model[fd+maxLowFD] = "/high"
			}
		}
		check := func(tab *fdTable, model map[int]string) {
			for fd := -1000; fd < 3000; fd++ {
				got, ok := tab.get(fd)
				want, wok := model[fd]
				if got != want || ok != wok {
					t.Fatalf("fd %d: %q %v, want %q %v", fd, got, ok, want, wok)
				}
			}
		}
		check(tab, model)
		for i := range clones {
			check(clones[i], models[i])
		}
	})
}
