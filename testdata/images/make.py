#!/usr/bin/python3
"""Regenerates the test images in this folder and their expected values.

Run once with Debian 12's python3-pil (Pillow 9.4) and numpy:
    /usr/bin/python3 testdata/images/make.py
Every expected value comes from Pillow (decoding, resizing) or from the
torchvision-0.14-equivalent PIL+numpy code below, never from lrp itself.
The output is deterministic (fixed seed).
"""
import os
import struct
import subprocess
import tempfile
import zlib

import numpy as np
from PIL import Image

OUT = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240611)
W, H = 29, 19  # format tests: odd sizes, partial JPEG MCUs


def path(name):
    return os.path.join(OUT, name)


def scene(h, w, noise=18.0):
    """Smooth colour content with an edge and some noise."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 5.0 + y / 9.0)
    g = 255 * x / max(w - 1, 1)
    b = 255 * (1 - y / max(h - 1, 1))
    a = np.stack([r, g, b], -1) + rng.normal(0, noise, (h, w, 3))
    a[h // 4 : h // 2, w // 3 : w // 2] = [250, 10, 30]
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- PNG writer
# Hand-written so that every colour type, bit depth and Adam7 interlacing can
# be produced (PIL cannot write 2/4-bit gray, 16-bit RGB or interlaced PNGs).


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(samples, depth):
    if depth == 16:
        return samples.astype(">u2").tobytes()
    if depth == 8:
        return samples.astype(np.uint8).tobytes()
    per = 8 // depth
    out = bytearray((len(samples) + per - 1) // per)
    for i, v in enumerate(samples):
        out[i // per] |= int(v) << (8 - depth * (i % per + 1))
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(name, a, ctype, depth, plte=None, trns=None, interlace=False):
    """a: (h, w, channels) sample values."""
    h, w, ch = a.shape
    raw = b""
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = a[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        for row in sub.reshape(sub.shape[0], -1):
            raw += b"\0" + pack_row(row, depth)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, int(interlace)))
    if plte is not None:
        data += chunk(b"PLTE", np.asarray(plte, np.uint8).tobytes())
    if trns is not None:
        data += chunk(b"tRNS", trns)
    z = zlib.compress(raw, 9)
    half = len(z) // 2  # two IDAT chunks
    data += chunk(b"IDAT", z[:half]) + chunk(b"IDAT", z[half:]) + chunk(b"IEND", b"")
    with open(path(name), "wb") as f:
        f.write(data)


def expect_pil(name, out=None):
    """Expected pixels: PIL's Image.open().convert('RGB'), saved as float32
    (H, W, 3) to OUT.npy (default: the image's name)."""
    rgb = np.asarray(Image.open(path(name)).convert("RGB"))
    np.save(path((out or name.rsplit(".", 1)[0]) + ".npy"), rgb.astype(np.float32))
    return rgb


def format_images():
    rgb = scene(H, W)
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    alpha = rng.integers(0, 256, (H, W, 1), dtype=np.uint8)
    lo = rng.integers(0, 256, (H, W, 4))  # random low bytes for 16-bit files

    write_png("rgb8.png", rgb, 2, 8)
    write_png("rgb8_adam7.png", rgb, 2, 8, interlace=True)
    write_png("rgb16.png", rgb.astype(np.int64) * 256 + lo[..., :3], 2, 16)
    rgba = np.concatenate([rgb, alpha], -1)
    write_png("rgba8.png", rgba, 6, 8)
    write_png("rgba16_adam7.png", rgba.astype(np.int64) * 256 + lo, 6, 16, interlace=True)
    write_png("gray8.png", gray[..., None], 0, 8)
    write_png("gray8_trns.png", gray[..., None], 0, 8, trns=struct.pack(">H", int(gray[0, 0])))
    for d in (1, 2, 4):
        write_png(f"gray{d}.png", (gray[..., None] >> (8 - d)), 0, d)
    write_png("gray2_adam7.png", (gray[..., None] >> 6), 0, 2, interlace=True)
    write_png("gray16.png", gray[..., None].astype(np.int64) * 256 + lo[..., :1], 0, 16)
    write_png("graya8.png", np.concatenate([gray[..., None], alpha], -1), 4, 8)
    write_png("graya16.png", np.concatenate([gray[..., None], alpha], -1).astype(np.int64) * 256 + lo[..., :2], 4, 16)
    # palettes: 8-bit with tRNS; 4-bit whose indices run past the 10 PLTE
    # entries (PIL maps index i past the end to gray i,i,i); 1-bit interlaced
    pal = rng.integers(0, 256, (200, 3))
    idx = rng.integers(0, 200, (H, W, 1))
    write_png("pal8_trns.png", idx, 3, 8, plte=pal, trns=bytes(rng.integers(0, 256, 50, dtype=np.uint8)))
    write_png("pal4_short.png", rng.integers(0, 16, (H, W, 1)), 3, 4, plte=pal[:10])
    write_png("pal1_adam7.png", rng.integers(0, 2, (H, W, 1)), 3, 1, plte=pal[:2], interlace=True)
    write_png("pal2.png", rng.integers(0, 4, (H, W, 1)), 3, 2, plte=pal[:4])

    # Several files decode to the same pixels; each group shares one file
    # of expected values (checked here against PIL for every member).
    groups = {
        "expect-rgb": ["rgb8.png", "rgb8_adam7.png", "rgb16.png", "rgba8.png", "rgba16_adam7.png"],
        "expect-gray": ["gray8.png", "gray8_trns.png", "graya8.png", "graya16.png"],
        "expect-gray1": ["gray1.png"],
        "expect-gray2": ["gray2.png", "gray2_adam7.png"],
        "expect-gray4": ["gray4.png"],
        "expect-pal8": ["pal8_trns.png"],
        "expect-pal4": ["pal4_short.png"],
        "expect-pal1": ["pal1_adam7.png"],
        "expect-pal2": ["pal2.png"],
    }
    for out, names in groups.items():
        first = expect_pil(names[0], out)
        for n in names[1:]:
            assert (expect_pil(n, out) == first).all(), n
    # 16-bit grayscale: Pillow opens it as mode "I" and convert('RGB') clips
    # at 255; lrp takes the high byte instead (documented in image_decode.c).
    # Expected: the high byte of the 16-bit values PIL decodes, which is the
    # 8-bit gray image.
    assert Image.open(path("gray16.png")).mode == "I"
    i16 = np.asarray(Image.open(path("gray16.png")))
    assert (np.repeat((i16 >> 8)[..., None], 3, -1) == expect_pil("gray8.png", "expect-gray")).all()

    im = Image.fromarray(rgb)
    im.save(path("rgb420.jpg"), quality=90, subsampling=2)
    im.save(path("rgb422.jpg"), quality=90, subsampling=1)
    im.save(path("rgb444_progressive.jpg"), quality=90, subsampling=0, progressive=True)
    im.save(path("rgb420_progressive.jpg"), quality=85, subsampling=2, progressive=True, optimize=True)
    Image.fromarray(gray).save(path("gray.jpg"), quality=90)
    im.convert("CMYK").save(path("cmyk.jpg"), quality=95)  # Adobe APP14, inverted CMYK
    # YCCK (Photoshop-style CMYK JPEG): PIL cannot write it, make_ycck.c can
    with tempfile.TemporaryDirectory() as tmp:
        exe, raw = os.path.join(tmp, "make_ycck"), os.path.join(tmp, "in.cmyk")
        subprocess.run(["cc", "-o", exe, path("make_ycck.c"), "-ljpeg"], check=True)
        inverted = 255 - np.asarray(im.convert("CMYK"))  # Adobe polarity, as PIL writes CMYK
        inverted.astype(np.uint8).tofile(raw)
        subprocess.run([exe, str(W), str(H), raw, path("ycck.jpg")], check=True)
    assert Image.open(path("ycck.jpg")).mode == "CMYK"
    assert Image.open(path("ycck.jpg")).info.get("adobe_transform") == 2
    for name in ["rgb420.jpg", "rgb422.jpg", "rgb444_progressive.jpg", "rgb420_progressive.jpg", "gray.jpg",
                 "cmyk.jpg", "ycck.jpg"]:
        expect_pil(name, "expect-jpg-" + name.rsplit(".", 1)[0])
    assert Image.open(path("cmyk.jpg")).mode == "CMYK"


def absurd_images():
    # IHDR claiming 100000 x 100000 (1e10 pixels) and 2000000 x 1, valid CRCs
    for name, (w, h) in [("huge_area.png", (100000, 100000)), ("huge_side.png", (2000000, 1))]:
        data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        data += chunk(b"IDAT", zlib.compress(b"\0\0\0\0")) + chunk(b"IEND", b"")
        with open(path(name), "wb") as f:
            f.write(data)
    # a JPEG whose SOF claims 60000 x 60000
    data = bytearray(open(path("rgb420.jpg"), "rb").read())
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, 60000, 60000)
    with open(path("huge.jpg"), "wb") as f:
        f.write(bytes(data))


# ------------------------------------------------- torchvision 0.14 in PIL+numpy
# Transcribes torchvision.transforms.functional for PIL images:
#   resize: Resize(int): shorter side -> size, longer int(size * long / short);
#           PIL Image.resize(..., BILINEAR)
#   center_crop: pad with 0 if smaller ((crop - size) // 2 before), then
#           top = int(round((H - h) / 2.0)) (Python round, half to even)
#   to_tensor: float32 / 255;  normalize: (x - mean) / std in float32
# Checked against ../shared/refset/inputs: 100% identical.


def tv_resize(im, size):
    w, h = im.size
    if isinstance(size, int):
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = size, int(size * long / short)
        nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
    else:
        nh, nw = size
    if (nw, nh) == (w, h):
        return im
    return im.resize((nw, nh), Image.BILINEAR)


def tv_center_crop(im, ch, cw):
    w, h = im.size
    if cw > w or ch > h:
        l = (cw - w) // 2 if cw > w else 0
        t = (ch - h) // 2 if ch > h else 0
        r = (cw - w + 1) // 2 if cw > w else 0
        b = (ch - h + 1) // 2 if ch > h else 0
        padded = Image.new(im.mode, (w + l + r, h + t + b), 0)
        padded.paste(im, (l, t))
        im = padded
        w, h = im.size
        if (cw, ch) == (w, h):
            return im
    top = int(round((h - ch) / 2.0))
    left = int(round((w - cw) / 2.0))
    return im.crop((left, top, left + cw, top + ch))


def tv_tensor(im, mean, std, bgr=False, range255=False, nhwc=False):
    a = np.asarray(im)
    if a.ndim == 2:
        a = a[..., None]
    x = a.transpose(2, 0, 1).astype(np.float32)
    if not range255:
        x = x / np.float32(255)
    if bgr:
        x = x[::-1]
    m = np.asarray(mean, np.float32)[: x.shape[0]].reshape(-1, 1, 1)
    s = np.asarray(std, np.float32)[: x.shape[0]].reshape(-1, 1, 1)
    x = ((x - m) / s)[None]
    if nhwc:
        x = x.transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x, np.float32)


IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def preprocess_cases():
    rgb = scene(30, 40, noise=30.0)
    Image.fromarray(rgb).save(path("tiny.png"))
    Image.fromarray(rgb).save(path("tiny.jpg"), quality=92)
    src = {"png": Image.open(path("tiny.png")).convert("RGB"), "jpg": Image.open(path("tiny.jpg")).convert("RGB")}

    def case(name, img, h, w, size, mean=IMAGENET[0], std=IMAGENET[1], gray=False, view=False, **kw):
        im = src[img].convert("L") if gray else src[img]
        if size == "none":
            r = im
        elif size == "exact":
            r = tv_resize(im, (h, w))
        else:
            r = tv_resize(im, size)
        c = tv_center_crop(r, h, w)
        np.save(path(f"pre-{name}.npy"), tv_tensor(c, mean, std, **kw))
        if view:
            np.save(path(f"pre-{name}.view.npy"), np.asarray(c.convert("RGB")).astype(np.float32))

    # The lrp settings of each case are in tests/unit/test_image.c.
    case("png-16", "png", 16, 16, 18, view=True)  # defaults, S=16: Resize(18)
    case("png-32", "png", 32, 32, 36)  # defaults, S=32: Resize(int(36.57)) = 36
    case("jpg-32", "jpg", 32, 32, 36)
    case("png-24x32", "png", 24, 32, 27, view=True)  # S=min=24 -> 27: 36x27, top round(1.5)=2
    case("png-exact-20x28", "png", 20, 28, "exact")
    case("png-none-29x35", "png", 29, 35, "none", view=True)  # left round(2.5)=2, top round(0.5)=0
    case("png-none-33x43", "png", 33, 43, "none", view=True)  # zero padding 1|2 left|right, 1|2 top|bottom
    case("png-gray-28", "png", 28, 28, 32, mean=(0.1307,), std=(0.3081,), gray=True, view=True)
    case("png-bgr255-nhwc-32", "png", 32, 32, 40, mean=(103.939, 116.779, 123.68), std=(1, 1, 1),
         bgr=True, range255=True, nhwc=True)
    # PIL resizes of tiny.png (40x30): down, one axis only, up, 1x1, thin
    for w, h in [(17, 11), (40, 13), (21, 30), (50, 37), (1, 1), (5, 70)]:
        np.save(path(f"tiny.resize-{w}x{h}.npy"),
                np.asarray(src["png"].resize((w, h), Image.BILINEAR)).astype(np.float32))


if __name__ == "__main__":
    format_images()
    absurd_images()
    preprocess_cases()
