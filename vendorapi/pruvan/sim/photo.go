package sim

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	mrand "math/rand/v2"
)

// DefaultPhotoSize is the size of generated photos when a request does not say (a framed
// phone photo is a few hundred KB to several MB).
const DefaultPhotoSize = 256 << 10

// writePhoto streams a valid JPEG of about size bytes (at most 3 short): a small picture
// with a Pruvan-style frame (address strip and barcode) whose start-of-image marker is
// followed by comment segments of filler, so a 20 MiB photo costs no memory to make. The
// bytes depend only on seed, so a re-sent item is byte-identical.
func writePhoto(w io.Writer, seed uint64, size int, label string) error {
	rng := mrand.New(mrand.NewPCG(seed, seed^0x5bd1e995))
	img := image.NewRGBA(image.Rect(0, 0, 96, 72))
	bg := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
	for y := 0; y < 72; y++ {
		for x := 0; x < 96; x++ {
			img.Set(x, y, bg)
		}
	}
	// The frame: a dark strip at the bottom with barcode bars derived from the label.
	for y := 58; y < 72; y++ {
		for x := 0; x < 96; x++ {
			img.Set(x, y, color.RGBA{20, 20, 20, 255})
		}
	}
	for i, c := range []byte(label) {
		if i*3+2 >= 96 {
			break
		}
		if c&1 == 1 {
			for y := 60; y < 70; y++ {
				img.Set(i*3+1, y, color.White)
			}
		}
	}
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, img, &jpeg.Options{Quality: 80}); err != nil {
		return err
	}
	b := enc.Bytes()
	if _, err := w.Write(b[:2]); err != nil { // SOI
		return err
	}
	filler := size - len(b)
	chunk := make([]byte, 65533)
	for filler >= 4 {
		n := min(filler-4, len(chunk))
		for i := 0; i < n; i += 8 {
			v := rng.Uint64()
			for j := 0; j < 8 && i+j < n; j++ {
				chunk[i+j] = byte(v >> (8 * j))
			}
		}
		seg := [4]byte{0xFF, 0xFE, byte((n + 2) >> 8), byte(n + 2)} // COM, length includes itself
		if _, err := w.Write(seg[:]); err != nil {
			return err
		}
		if _, err := w.Write(chunk[:n]); err != nil {
			return err
		}
		filler -= n + 4
	}
	_, err := w.Write(b[2:])
	return err
}
