package tarball

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// A DEFLATE (RFC 1951) encoder that compresses one block of the parallel
// gzip writer with the 32 KiB before it as history. The design follows
// what libdeflate showed to be about twice as fast as zlib at the same
// ratio (the ideas, not its code):
//   - match finding: hash chains of 4-byte prefixes over a 32 KiB ring
//     (a 4-byte hash leaves far fewer false candidates on the chain than
//     zlib's 3-byte one) and beside them a table of the last position of
//     each 3-byte prefix, which finds the short matches machine code is
//     full of; a length-3 match farther than 8 KiB is dropped;
//   - lazy parsing: a match is kept unless the next position has one
//     that is longer, weighed against the distance's extra bits, searched
//     with half the depth (lazy2, levels 8 and 9: two positions ahead);
//   - block splitting: a block ends when the mix of its recent symbols
//     drifts from the mix so far (or at 300 KB), so that each Huffman
//     code fits its data; each block is coded the cheapest way (dynamic,
//     fixed or stored).

const (
	dMinMatch = 3
	dMaxMatch = 258
	dWindow   = 32768
	dWinMask  = dWindow - 1
	dHash3    = 15
	dHash4    = 16
	dTooFar   = 8192 // a length-3 match farther costs more than 3 literals
	dEOB      = 256
	// block splitting: the symbols' mix is compared every dObsCheck
	// symbols once a block has dMinBlock bytes; dMaxBlock ends it anyway
	dObsCheck = 512
	dMinBlock = 5000
	dMaxBlock = 300000
	// a match may not start in the last bytes (4 are hashed, 8 compared)
	dTail = 8
)

// dparams are the match finder's effort at a level.
type dparams struct {
	depth int  // chain positions tried at most
	nice  int  // a match this long is taken at once
	lazy2 bool // look two positions ahead, not one
}

// zlevels are the parameters of levels 4 to 9. The default, 5, stays
// within 1 % of gzip -6: 8 chain positions are enough, as its blocks
// fit their codes better than zlib's fixed-size ones.
var zlevels = map[int]dparams{
	4: {6, 16, false},
	5: {8, 16, false},
	6: {16, 30, false},
	7: {35, 65, false},
	8: {100, 130, true},
	9: {300, dMaxMatch, true},
}

// token: a literal byte (< 256), or 1<<31 | (length-3)<<16 | (distance-1).
type token uint32

const matchFlag = 1 << 31

// splitStats is what block splitting watches: counts of 8 kinds of
// literal (top two bits and lowest bit) and 2 of match (shorter or
// longer than 9), for the block so far and for the symbols since the
// last check.
type splitStats struct {
	old, recent       [10]uint32
	numOld, numRecent uint32
}

type deflater struct {
	// the pointers first: the collector scans an object up to its last
	// pointer, and the tables after them are half a megabyte
	buf      []byte // the history, then the data
	tokens   []token
	bw       bitWriter
	p        dparams
	head3    [1 << dHash3]int32
	head4    [1 << dHash4]int32
	prev     [dWindow]int32 // by position & dWinMask: the position before with its 4-byte hash
	litFreq  [286]int32
	distFreq [30]int32
	split    splitStats
}

func newDeflater(p dparams) *deflater { return &deflater{p: p} }

const hashMul = 0x1E35A7BD

func hash3(u uint32) uint32 { return ((u << 8) * hashMul) >> (32 - dHash3) }
func hash4(u uint32) uint32 { return (u * hashMul) >> (32 - dHash4) }

// insert adds position i (with 4 bytes readable) to the match finder.
func (d *deflater) insert(buf []byte, i int) {
	u := binary.LittleEndian.Uint32(buf[i:])
	h4 := hash4(u)
	d.head3[hash3(u)] = int32(i)
	d.prev[i&dWinMask] = d.head4[h4]
	d.head4[h4] = int32(i)
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
	// nothing is older than the window: a position this low is never a candidate
	const none = -2 * dWindow
	for i := range d.head3 {
		d.head3[i] = none
	}
	for i := range d.head4 {
		d.head4[i] = none
	}
	d.tokens = d.tokens[:0]
	d.startBlock()
	end := len(buf)
	mend := end - dTail // matches start before
	for i := 0; i < len(dict) && i+4 <= end; i++ {
		d.insert(buf, i)
	}
	depth, nice, lazy2 := d.p.depth, d.p.nice, d.p.lazy2
	blockStart := len(dict)
	s := len(dict)
	for s < end {
		if d.split.numRecent >= dObsCheck && s-blockStart >= dMinBlock && end-s >= dMinBlock &&
			(s-blockStart >= dMaxBlock || d.blockEnds(s-blockStart)) {
			d.writeBlock(buf[blockStart:s], false)
			blockStart = s
			d.startBlock()
		}
		if s >= mend {
			d.literal(buf[s])
			s++
			continue
		}
		curLen, curDist := d.longest(buf, s, dMinMatch-1, depth, nice)
		if curLen < dMinMatch || curLen == dMinMatch && curDist > dTooFar {
			d.literal(buf[s])
			s++
			continue
		}
		// s is the match's start; look at s+1 (and s+2) for a better one
		next := s + 1 // the first position not in the match finder
		for curLen < nice && s+1 < mend {
			nLen, nDist := d.longest(buf, s+1, curLen-1, depth>>1, nice)
			next = s + 2
			if nLen >= curLen && 4*(nLen-curLen)+bits.Len32(uint32(curDist))-bits.Len32(uint32(nDist)) > 2 {
				d.literal(buf[s])
				s, curLen, curDist = s+1, nLen, nDist
				continue
			}
			if lazy2 && s+2 < mend {
				nLen, nDist = d.longest(buf, s+2, curLen-1, depth>>2, nice)
				next = s + 3
				if nLen >= curLen && 4*(nLen-curLen)+bits.Len32(uint32(curDist))-bits.Len32(uint32(nDist)) > 6 {
					d.literal(buf[s])
					d.literal(buf[s+1])
					s, curLen, curDist = s+2, nLen, nDist
					continue
				}
			}
			break
		}
		d.skip(buf, next, s+curLen, end)
		d.match(curLen, curDist)
		s += curLen
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

// skip inserts the positions from to to (excluded) that have 4 bytes.
func (d *deflater) skip(buf []byte, from, to, end int) {
	to = min(to, end-3)
	for i := from; i < to; i++ {
		d.insert(buf, i)
	}
}

func (d *deflater) literal(b byte) {
	d.tokens = append(d.tokens, token(b))
	d.litFreq[b]++
	d.split.recent[(b>>5)&6|b&1]++
	d.split.numRecent++
}

func (d *deflater) match(length, dist int) {
	d.tokens = append(d.tokens, matchFlag|token(length-dMinMatch)<<16|token(dist-1))
	d.litFreq[257+int(lengthCode[length-dMinMatch])]++
	d.distFreq[dcode(dist-1)]++
	d.split.recent[8+b2i(length >= 9)]++
	d.split.numRecent++
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (d *deflater) startBlock() {
	d.split = splitStats{}
	d.litFreq, d.distFreq = [286]int32{}, [30]int32{}
	d.tokens = d.tokens[:0]
}

// blockEnds tells, at a check, whether the recent symbols' mix differs
// enough from the block's so far to start a new block (the sum of the
// differences of the kinds' shares, scaled to integers, against a
// cutoff that rises for short blocks, whose code tables weigh more);
// if not, the recent counts join the block's.
func (d *deflater) blockEnds(blockLen int) bool {
	st := &d.split
	if st.numOld > 0 {
		var delta uint64
		for i := range st.old {
			want := uint64(st.old[i]) * uint64(st.numRecent)
			got := uint64(st.recent[i]) * uint64(st.numOld)
			if got > want {
				delta += got - want
			} else {
				delta += want - got
			}
		}
		items := uint64(st.numOld + st.numRecent)
		cutoff := uint64(st.numRecent) * 200 / 512 * uint64(st.numOld)
		if blockLen < 10000 && items < 8192 {
			cutoff += cutoff * (8192 - items) / 8192
		}
		if delta+uint64(blockLen/4096)*uint64(st.numOld) >= cutoff {
			return true
		}
	}
	for i := range st.old {
		st.old[i] += st.recent[i]
		st.recent[i] = 0
	}
	st.numOld += st.numRecent
	st.numRecent = 0
	return false
}

// longest inserts position cur and finds the longest match there
// longer than best (at most depth chain positions, stopping at nice):
// its length and distance, or 0, 0. cur has dTail bytes after it.
func (d *deflater) longest(buf []byte, cur, best, depth, nice int) (int, int) {
	u := binary.LittleEndian.Uint32(buf[cur:])
	h3, h4 := hash3(u), hash4(u)
	c3, c4 := int(d.head3[h3]), int(d.head4[h4])
	d.head3[h3] = int32(cur)
	d.prev[cur&dWinMask] = int32(c4)
	d.head4[h4] = int32(cur)
	cutoff := cur - dWindow // a candidate must be above (the ring holds 32767 back)
	maxLen := min(dMaxMatch, len(buf)-cur)
	nice = min(nice, maxLen)
	win := buf[cur : cur+maxLen : cur+maxLen]
	bestPos := -1
	if best < 4 {
		if best < 3 && c3 > cutoff && binary.LittleEndian.Uint32(buf[c3:])&0xffffff == u&0xffffff {
			best, bestPos = 3, c3
		}
		// the first candidate whose 4 bytes match
		for {
			if c4 <= cutoff || depth <= 0 {
				return found(best, bestPos, cur)
			}
			if binary.LittleEndian.Uint32(buf[c4:]) == u {
				break
			}
			c4 = int(d.prev[c4&dWinMask])
			depth--
		}
		best, bestPos = 4+matchLength(buf[c4+4:], win[4:]), c4
		if best >= nice {
			return best, cur - bestPos
		}
		c4 = int(d.prev[c4&dWinMask])
		depth--
	} else if best >= nice {
		return 0, 0
	}
	for ; c4 > cutoff && depth > 0; depth-- {
		c := buf[c4:]
		// the 4 bytes that end one longer than best, then the first 4
		if binary.LittleEndian.Uint32(c[best-3:]) == binary.LittleEndian.Uint32(win[best-3:]) &&
			binary.LittleEndian.Uint32(c) == u {
			if l := 4 + matchLength(c[4:], win[4:]); l > best {
				best, bestPos = l, c4
				if l >= nice {
					break
				}
			}
		}
		c4 = int(d.prev[c4&dWinMask])
	}
	return found(best, bestPos, cur)
}

func found(best, pos, cur int) (int, int) {
	if pos < 0 {
		return 0, 0
	}
	return best, cur - pos
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
	extra := 0
	for c, f := range d.litFreq[257:] {
		extra += int(f) * int(lengthBits[c])
	}
	for c, f := range d.distFreq {
		extra += int(f) * int(distBits[c])
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
	// each length's code and extra bits as one value
	var lenVal [256]uint32
	var lenBits [256]uint8
	for l := range lenVal {
		lc := 257 + int(lengthCode[l])
		lenVal[l] = uint32(litCodes[lc]) | uint32(l+3-int(lengthBase[lc-257]))<<litLen[lc]
		lenBits[l] = litLen[lc] + lengthBits[lc-257]
	}
	// A token takes at most 15+5+15+13 bits: with fewer than 8 pending,
	// it fits the 64-bit buffer, which is then stored whole and advanced
	// by its full bytes, without a branch.
	w := &d.bw
	w.flush()
	out := slices.Grow(w.out, 7*len(d.tokens)+16)
	i := len(out)
	out = out[:cap(out)]
	acc, n := w.bits, w.n
	for _, t := range d.tokens {
		if t&matchFlag == 0 {
			acc |= uint64(litCodes[t&0xff]) << n
			n += uint(litLen[t&0xff])
		} else {
			l := (t >> 16) & 0xff
			acc |= uint64(lenVal[l]) << n
			n += uint(lenBits[l])
			dist1 := int(t & 0xffff)
			dc := dcode(dist1)
			acc |= (uint64(distCodes[dc]) | uint64(dist1+1-int(distBase[dc]))<<distLen[dc]) << n
			n += uint(distLen[dc]) + uint(distBits[dc])
		}
		binary.LittleEndian.PutUint64(out[i:], acc)
		i += int(n >> 3)
		acc >>= n &^ 7
		n &= 7
	}
	w.out, w.bits, w.n = out[:i], acc, n
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
	// the symbols with a count, by count then symbol: count<<16 | symbol
	var keys [286]uint64
	n := 0
	for s, f := range freq {
		lens[s] = 0
		if f > 0 {
			keys[n] = uint64(f)<<16 | uint64(s)
			n++
		}
	}
	if n == 0 {
		return
	}
	if n == 1 {
		lens[keys[0]&0xffff] = 1
		return
	}
	leaves := keys[:n]
	slices.Sort(leaves)
	// Two queues: the leaves, sorted, and the internal nodes, made in
	// order of weight. Nodes 0..n-1 are the leaves.
	var weightA [2 * 286]int64
	var parentA [2 * 286]int
	weight, parent := weightA[:2*n-1], parentA[:2*n-1]
	for i, k := range leaves {
		weight[i] = int64(k >> 16)
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
	var depthA [2 * 286]int
	depth := depthA[:2*n-1]
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
			lens[leaves[k]&0xffff] = uint8(l)
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

// flush writes the pending whole bytes.
func (w *bitWriter) flush() {
	for w.n >= 8 {
		w.out = append(w.out, byte(w.bits))
		w.bits >>= 8
		w.n -= 8
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
