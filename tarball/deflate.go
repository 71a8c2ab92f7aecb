package tarball

import (
	"encoding/binary"
	"math/bits"
	"sort"
)

// A DEFLATE (RFC 1951) encoder with zlib's lazy matching: hash chains
// of 3-byte prefixes, so that it finds the short matches machine code is
// full of (klauspost/compress and the standard library look for 4 bytes
// and lose 2-3 % on shared libraries against gzip -6), length-3 matches
// farther than 4 KiB dropped, blocks of at most 16383 symbols each coded
// the cheapest way (dynamic, fixed or stored). It compresses one block
// of the parallel gzip writer with the 32 KiB before it as history.

const (
	dMinMatch  = 3
	dMaxMatch  = 258
	dWindow    = 32768
	dHashBits  = 15
	dHashSize  = 1 << dHashBits
	dTooFar    = 4096
	dMaxTokens = 16383
	dEOB       = 256
)

// zparams are zlib's lazy matching parameters of a level.
type zparams struct{ good, lazy, nice, chain int }

// zlevels are zlib's parameters for its lazy levels, 4 to 9 (deflate.c's
// configuration table): the same level gives about gzip -N's size.
var zlevels = map[int]zparams{
	4: {4, 4, 16, 16},
	5: {8, 16, 32, 32},
	6: {8, 16, 128, 128},
	7: {8, 32, 128, 256},
	8: {32, 128, 258, 1024},
	9: {32, 258, 258, 4096},
}

// token: a literal byte (< 256), or 1<<31 | (length-3)<<16 | (distance-1).
type token uint32

const matchFlag = 1 << 31

type deflater struct {
	p        zparams
	buf      []byte           // the history, then the data
	head     [dHashSize]int32 // last position+1 with a hash; 0: none
	prev     []int32          // the position+1 before, by position
	tokens   []token
	litFreq  [286]int32
	distFreq [30]int32
	bw       bitWriter
}

func newDeflater(p zparams) *deflater { return &deflater{p: p} }

func hash3(b []byte, i int) uint32 {
	return (uint32(b[i])<<10 ^ uint32(b[i+1])<<5 ^ uint32(b[i+2])) & (dHashSize - 1)
}

// compress appends to dst the deflate blocks of data, with dict (at most
// 32 KiB) as history; last ends the stream, otherwise the output ends
// with a sync marker (an empty stored block), byte aligned, so that the
// next block's output can follow it.
func (d *deflater) compress(dst, dict, data []byte, last bool) []byte {
	if len(dict) > dWindow {
		dict = dict[len(dict)-dWindow:]
	}
	d.buf = append(append(d.buf[:0], dict...), data...)
	buf := d.buf
	d.bw = bitWriter{out: dst}
	d.head = [dHashSize]int32{}
	if cap(d.prev) < len(buf) {
		d.prev = make([]int32, len(buf))
	}
	d.prev = d.prev[:len(buf)]
	d.tokens = d.tokens[:0]
	end := len(buf)
	insert := func(i int) int32 {
		if i+dMinMatch > end {
			return 0
		}
		h := hash3(buf, i)
		old := d.head[h]
		d.prev[i] = old
		d.head[h] = int32(i + 1)
		return old
	}
	for i := range dict {
		insert(i)
	}
	blockStart := len(dict)
	s := len(dict)
	matchLen, matchPos := dMinMatch-1, 0
	avail := false
	for s < end {
		hh := insert(s)
		prevLen, prevMatch := matchLen, matchPos
		matchLen = dMinMatch - 1
		if hh != 0 && prevLen < d.p.lazy && s-int(hh-1) <= dWindow {
			matchLen, matchPos = d.longest(buf, s, int(hh-1), prevLen)
			if matchLen == dMinMatch && s-matchPos > dTooFar {
				matchLen = dMinMatch - 1
			}
		}
		switch {
		case prevLen >= dMinMatch && matchLen <= prevLen:
			d.tokens = append(d.tokens, matchFlag|token(prevLen-dMinMatch)<<16|token(s-1-prevMatch-1))
			stop := s - 1 + prevLen
			for s++; s < stop; s++ {
				insert(s)
			}
			avail = false
			matchLen = dMinMatch - 1
			if len(d.tokens) >= dMaxTokens {
				d.writeBlock(buf[blockStart:s], false)
				blockStart = s
			}
		case avail:
			d.tokens = append(d.tokens, token(buf[s-1]))
			s++
			if len(d.tokens) >= dMaxTokens {
				d.writeBlock(buf[blockStart:s-1], false)
				blockStart = s - 1
			}
		default:
			avail = true
			s++
		}
	}
	if avail {
		d.tokens = append(d.tokens, token(buf[s-1]))
	}
	d.writeBlock(buf[blockStart:end], last)
	if !last {
		// sync marker: an empty stored block
		d.bw.write(0, 3)
		d.bw.align()
		d.bw.out = append(d.bw.out, 0, 0, 0xff, 0xff)
	}
	return d.bw.out
}

// longest finds the longest match for position cur along the hash
// chain from cand, longer than prevLen, as zlib's longest_match does.
func (d *deflater) longest(buf []byte, cur, cand, prevLen int) (int, int) {
	maxLen := min(dMaxMatch, len(buf)-cur)
	best := max(prevLen, dMinMatch-1)
	if best >= maxLen {
		return dMinMatch - 1, 0
	}
	bestPos, found := 0, false
	chain := d.p.chain
	if prevLen >= d.p.good {
		chain >>= 2
	}
	nice := min(d.p.nice, maxLen)
	limit := max(cur-dWindow, 0)
	prev := d.prev
	win := buf[cur : cur+maxLen : cur+maxLen]
	start := binary.LittleEndian.Uint16(win)
	end := binary.LittleEndian.Uint16(win[best-1:])
	for m := cand; m >= limit && chain > 0; chain-- {
		c := buf[m : m+maxLen : m+maxLen]
		// the two bytes that would make it longer, then the first two
		if binary.LittleEndian.Uint16(c[best-1:]) == end && binary.LittleEndian.Uint16(c) == start {
			if l := matchLength(c, win); l > best {
				best, bestPos, found = l, m, true
				if l >= nice {
					break
				}
				end = binary.LittleEndian.Uint16(win[best-1:])
			}
		}
		m = int(prev[m]) - 1
	}
	if !found {
		return dMinMatch - 1, 0
	}
	return best, bestPos
}

// matchLength is how many leading bytes a and b share (b is the shorter).
func matchLength(a, b []byte) int {
	n := 0
	for len(b)-n >= 8 {
		x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:])
		if x != 0 {
			return n + bits.TrailingZeros64(x)>>3
		}
		n += 8
	}
	for n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// The length and distance codes (RFC 1951 3.2.5).
var (
	lengthBase = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthBits = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase   = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distBits   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	lengthCode [256]uint8 // by length-3
	distCode   [512]uint8 // by distance-1: < 256 directly, else 256 + (distance-1)>>7
	clOrder    = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	fixedLit   [288]uint8
	fixedDist  [30]uint8
)

func init() {
	for c := 0; c < 29; c++ {
		for l := int(lengthBase[c]); l < int(lengthBase[c])+1<<lengthBits[c] && l <= dMaxMatch; l++ {
			lengthCode[l-3] = uint8(c)
		}
	}
	lengthCode[dMaxMatch-3] = 28
	for c := 0; c < 30; c++ {
		for dd := int(distBase[c]) - 1; dd < int(distBase[c])-1+1<<distBits[c]; dd++ {
			if dd < 256 {
				distCode[dd] = uint8(c)
			} else {
				distCode[256+dd>>7] = uint8(c)
			}
		}
	}
	for i := range fixedLit {
		switch {
		case i < 144:
			fixedLit[i] = 8
		case i < 256:
			fixedLit[i] = 9
		case i < 280:
			fixedLit[i] = 7
		default:
			fixedLit[i] = 8
		}
	}
	for i := range fixedDist {
		fixedDist[i] = 5
	}
}

func dcode(dist1 int) int {
	if dist1 < 256 {
		return int(distCode[dist1])
	}
	return int(distCode[256+dist1>>7])
}

// writeBlock codes the tokens, which stand for raw, as the cheapest of a
// dynamic, a fixed or stored blocks.
func (d *deflater) writeBlock(raw []byte, final bool) {
	d.litFreq, d.distFreq = [286]int32{}, [30]int32{}
	extra := 0
	for _, t := range d.tokens {
		if t&matchFlag == 0 {
			d.litFreq[t]++
			continue
		}
		lc := lengthCode[(t>>16)&0xff]
		dc := dcode(int(t & 0xffff))
		d.litFreq[257+int(lc)]++
		d.distFreq[dc]++
		extra += int(lengthBits[lc]) + int(distBits[dc])
	}
	d.litFreq[dEOB]++
	// Two codes at least in each tree: a one-code tree is incomplete.
	atLeastTwo(d.litFreq[:])
	atLeastTwo(d.distFreq[:])
	var litLen [286]uint8
	var distLen [30]uint8
	huffLengths(d.litFreq[:], 15, litLen[:])
	huffLengths(d.distFreq[:], 15, distLen[:])
	hlit, hdist := 286, 30
	for hlit > 257 && litLen[hlit-1] == 0 {
		hlit--
	}
	for hdist > 1 && distLen[hdist-1] == 0 {
		hdist--
	}
	seq := make([]uint8, 0, hlit+hdist)
	seq = append(append(seq, litLen[:hlit]...), distLen[:hdist]...)
	rle := rleLengths(seq)
	var clFreq [19]int32
	for _, r := range rle {
		clFreq[r>>8]++
	}
	atLeastTwo(clFreq[:])
	var clLen [19]uint8
	huffLengths(clFreq[:], 7, clLen[:])
	hclen := 19
	for hclen > 4 && clLen[clOrder[hclen-1]] == 0 {
		hclen--
	}
	dyn := 3 + 5 + 5 + 4 + 3*hclen + extra
	for s, f := range clFreq {
		dyn += int(f) * int(clLen[s])
	}
	for _, r := range rle {
		dyn += int([19]uint8{16: 2, 17: 3, 18: 7}[r>>8])
	}
	fixed := 3 + extra
	for s, f := range d.litFreq {
		dyn += int(f) * int(litLen[s])
		fixed += int(f) * int(fixedLit[s])
	}
	for s, f := range d.distFreq {
		dyn += int(f) * int(distLen[s])
		fixed += int(f) * 5
	}
	// stored: each chunk of at most 65535 bytes costs a header, the
	// alignment (at most 7 bits) and 4 bytes of lengths
	chunks := max(1, (len(raw)+65534)/65535)
	stored := chunks*(3+7+32) + 8*len(raw)
	switch {
	case stored < dyn && stored < fixed:
		d.writeStored(raw, final)
	case fixed <= dyn:
		d.bw.write(b2u(final)|1<<1, 3)
		d.writeTokens(fixedLit[:], fixedDist[:], final) // all 288: the 9-bit codes follow every 8-bit one
	default:
		d.bw.write(b2u(final)|2<<1, 3)
		d.bw.write(uint64(hlit-257), 5)
		d.bw.write(uint64(hdist-1), 5)
		d.bw.write(uint64(hclen-4), 4)
		for i := 0; i < hclen; i++ {
			d.bw.write(uint64(clLen[clOrder[i]]), 3)
		}
		clCodes := canonical(clLen[:])
		for _, r := range rle {
			s := r >> 8
			d.bw.write(uint64(clCodes[s]), uint(clLen[s]))
			switch s {
			case 16:
				d.bw.write(uint64(r&0xff), 2)
			case 17:
				d.bw.write(uint64(r&0xff), 3)
			case 18:
				d.bw.write(uint64(r&0xff), 7)
			}
		}
		d.writeTokens(litLen[:], distLen[:], final)
	}
	d.tokens = d.tokens[:0]
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func (d *deflater) writeStored(raw []byte, final bool) {
	for {
		n := min(len(raw), 65535)
		isLast := final && n == len(raw)
		d.bw.write(b2u(isLast), 3)
		d.bw.align()
		d.bw.out = append(d.bw.out, byte(n), byte(n>>8), byte(^n), byte(^n>>8))
		d.bw.out = append(d.bw.out, raw[:n]...)
		raw = raw[n:]
		if len(raw) == 0 {
			break
		}
	}
	if final {
		d.bw.align()
	}
}

func (d *deflater) writeTokens(litLen, distLen []uint8, final bool) {
	litCodes := canonical(litLen)
	distCodes := canonical(distLen)
	w := &d.bw
	for _, t := range d.tokens {
		if t&matchFlag == 0 {
			w.write(uint64(litCodes[t]), uint(litLen[t]))
			continue
		}
		l := int(t>>16) & 0xff
		lc := int(lengthCode[l])
		w.write(uint64(litCodes[257+lc]), uint(litLen[257+lc]))
		if lengthBits[lc] > 0 {
			w.write(uint64(l+3-int(lengthBase[lc])), uint(lengthBits[lc]))
		}
		dist1 := int(t & 0xffff)
		dc := dcode(dist1)
		w.write(uint64(distCodes[dc]), uint(distLen[dc]))
		if distBits[dc] > 0 {
			w.write(uint64(dist1+1-int(distBase[dc])), uint(distBits[dc]))
		}
	}
	w.write(uint64(litCodes[dEOB]), uint(litLen[dEOB]))
	if final {
		w.align()
	}
}

// atLeastTwo gives the first symbols a count until two have one.
func atLeastTwo(freq []int32) {
	n := 0
	for _, f := range freq {
		if f > 0 {
			n++
		}
	}
	for i := 0; n < 2 && i < len(freq); i++ {
		if freq[i] == 0 {
			freq[i] = 1
			n++
		}
	}
}

// rleLengths codes a sequence of code lengths with the code length
// alphabet: each item is symbol<<8 | extra bits' value.
func rleLengths(seq []uint8) []uint16 {
	var out []uint16
	for i := 0; i < len(seq); {
		v := seq[i]
		r := 1
		for i+r < len(seq) && seq[i+r] == v {
			r++
		}
		i += r
		if v == 0 {
			for r >= 11 {
				n := min(r, 138)
				out = append(out, 18<<8|uint16(n-11))
				r -= n
			}
			if r >= 3 {
				out = append(out, 17<<8|uint16(r-3))
				r = 0
			}
		} else {
			out = append(out, uint16(v)<<8)
			r--
			for r >= 3 {
				n := min(r, 6)
				out = append(out, 16<<8|uint16(n-3))
				r -= n
			}
		}
		for ; r > 0; r-- {
			out = append(out, uint16(v)<<8)
		}
	}
	return out
}

// huffLengths sets the Huffman code lengths of the symbols with a count,
// at most limit bits: a Huffman tree, then, when too deep, the lengths
// moved up as JPEG's Annex K.3 does; the shortest go to the most frequent.
func huffLengths(freq []int32, limit int, lens []uint8) {
	type leaf struct {
		sym  int
		freq int32
	}
	var leaves []leaf
	for s, f := range freq {
		lens[s] = 0
		if f > 0 {
			leaves = append(leaves, leaf{s, f})
		}
	}
	n := len(leaves)
	if n == 0 {
		return
	}
	if n == 1 {
		lens[leaves[0].sym] = 1
		return
	}
	sort.Slice(leaves, func(i, j int) bool {
		if leaves[i].freq != leaves[j].freq {
			return leaves[i].freq < leaves[j].freq
		}
		return leaves[i].sym < leaves[j].sym
	})
	// Two queues: the leaves, sorted, and the internal nodes, made in
	// order of weight. Nodes 0..n-1 are the leaves.
	weight := make([]int64, 2*n-1)
	parent := make([]int, 2*n-1)
	for i, l := range leaves {
		weight[i] = int64(l.freq)
	}
	li, ni, next := 0, n, n
	pick := func() int {
		if li < n && (ni >= next || weight[li] <= weight[ni]) {
			li++
			return li - 1
		}
		ni++
		return ni - 1
	}
	for next < 2*n-1 {
		a, b := pick(), pick()
		weight[next] = weight[a] + weight[b]
		parent[a], parent[b] = next, next
		next++
	}
	depth := make([]int, 2*n-1)
	var count [320]int
	maxDepth := 0
	for i := 2*n - 3; i >= 0; i-- {
		depth[i] = depth[parent[i]] + 1
		if i < n {
			count[depth[i]]++
			maxDepth = max(maxDepth, depth[i])
		}
	}
	for i := maxDepth; i > limit; i-- {
		for count[i] > 0 {
			j := i - 2
			for count[j] == 0 {
				j--
			}
			count[i] -= 2
			count[i-1]++
			count[j+1] += 2
			count[j]--
		}
	}
	// leaves are by increasing count: the longest codes go first
	k := 0
	for l := min(maxDepth, limit); l >= 1; l-- {
		for c := 0; c < count[l]; c++ {
			lens[leaves[k].sym] = uint8(l)
			k++
		}
	}
}

// canonical returns the bit-reversed canonical codes of the lengths.
func canonical(lens []uint8) []uint16 {
	var count [16]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [16]uint16
	code := uint16(0)
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	codes := make([]uint16, len(lens))
	for s, l := range lens {
		if l == 0 {
			continue
		}
		codes[s] = bits.Reverse16(next[l]) >> (16 - l)
		next[l]++
	}
	return codes
}

// bitWriter writes bits least significant first, as deflate does.
type bitWriter struct {
	out  []byte
	bits uint64
	n    uint
}

func (w *bitWriter) write(v uint64, nb uint) {
	w.bits |= v << w.n
	w.n += nb
	if w.n >= 32 {
		w.out = binary.LittleEndian.AppendUint32(w.out, uint32(w.bits))
		w.bits >>= 32
		w.n -= 32
	}
}

// align writes the pending bits, padded with zeros to a byte.
func (w *bitWriter) align() {
	for w.n > 0 {
		w.out = append(w.out, byte(w.bits))
		w.bits >>= 8
		w.n -= min(w.n, 8)
	}
	w.bits = 0
}
