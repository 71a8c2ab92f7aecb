package tarball

import (
	"bytes"
	"context"
	"os"
	"testing"
)

// layerBreak, as an entry's type (kind byte 0xff), ends a layer in a
// FuzzApplyLayers program.
const layerBreak = 0x7f

// layerWords are words, and the whiteouts and opaque markers that meet
// them.
var layerWords = append(append([]string{}, words...),
	".wh.a", "a/.wh.b", ".wh.escape", "escape/.wh.canary", "escape/.wh.sub", ".wh...", "a/.wh..", ".wh.",
	".wh..wh..opq", "a/.wh..wh..opq", "escape/.wh..wh..opq", "escape/sub/.wh..wh..opq", "@OUT/.wh.canary")

// FuzzApplyLayers: whatever the layers hold, an Applier writes, removes
// and changes nothing outside its directory (the canary tree of
// FuzzExtract, checked the same way). Inputs are programs as for
// FuzzExtract (over layerWords), whose entries of kind 0xff end a layer;
// or, with an even first byte, a single archive as it stands.
func FuzzApplyLayers(f *testing.F) {
	for _, c := range applyCases {
		var ents []ent
		for i, l := range c.layers {
			if i > 0 {
				ents = append(ents, ent{typ: layerBreak})
			}
			ents = append(ents, l...)
		}
		f.Add(programOf(ents, layerWords))
	}
	owners := os.Geteuid() == 0
	s, before := fuzzSandbox(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		var err error
		if in[0]&1 == 0 {
			a := NewApplier(s.target, ExtractOptions{Owners: owners})
			var r *Reader
			if r, err = NewReader(bytes.NewReader(in[1:])); err == nil {
				err = a.Apply(context.Background(), r)
				r.Close()
			}
		} else {
			var layers [][]ent
			cur := []ent{}
			for _, e := range entriesOf(in[1:], layerWords) {
				if e.typ == layerBreak {
					layers, cur = append(layers, cur), []ent{}
					continue
				}
				cur = append(cur, e)
			}
			_, err = s.apply(t, append(layers, cur), true, ExtractOptions{Owners: owners})
		}
		s.checkFuzzed(t, before, "applying the layers", err)
	})
}
