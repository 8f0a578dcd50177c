# Copyright (c) oksnet-mmpose contributors.
"""Drawing primitives (sub-pixel OpenCV calls), textures, the cluttered
background and the image degradations of the synthetic people dataset."""
import math
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .profiles import SyntheticProfile

# Fixed-point precision of the OpenCV drawing calls (1/16 pixel), so that
# small people keep their sub-pixel geometry.
SHIFT = 4
ONE = 1 << SHIFT

# Skin tones (BGR), light to dark: people and the head-like clutter.
SKIN_TONES = np.array(
    [[189, 214, 241], [160, 194, 228], [130, 170, 214], [104, 142, 193],
     [80, 116, 160], [58, 86, 122], [44, 62, 92]],
    dtype=np.float64)


def pt(p: np.ndarray) -> Tuple[int, int]:
    return int(round(p[0] * ONE)), int(round(p[1] * ONE))


def capsule(canvas: np.ndarray, p0: np.ndarray, p1: np.ndarray, r0: float,
            r1: float, colour, line_type: int) -> None:
    """A tapered capsule: end discs joined by their outer tangents."""
    cv2.circle(canvas, pt(p0), max(1, int(r0 * ONE)), colour, -1, line_type,
               SHIFT)
    cv2.circle(canvas, pt(p1), max(1, int(r1 * ONE)), colour, -1, line_type,
               SHIFT)
    d = p1 - p0
    n = math.hypot(d[0], d[1])
    if n > 1e-6:
        nrm = np.array([-d[1], d[0]]) / n
        quad = np.stack(
            [p0 + nrm * r0, p1 + nrm * r1, p1 - nrm * r1, p0 - nrm * r0])
        cv2.fillConvexPoly(canvas,
                           np.round(quad * ONE).astype(np.int32), colour,
                           line_type, SHIFT)


def paint_part(img: np.ndarray, owner: np.ndarray, prims: Sequence[tuple],
               colour: np.ndarray, owner_id: int, outline: float) -> None:
    """Paint a part's primitives with a dark outline into the image and its
    grown footprint into the owner map.

    The outline is what separates a limb from a same-coloured part behind it
    (an arm in front of the shirt), so that the joints stay locatable.
    """
    dark = tuple(float(c) * 0.5 for c in colour)
    fill = tuple(float(c) for c in colour)
    for canvas, col, grow, line in ((img, dark, outline, cv2.LINE_AA),
                                    (owner, owner_id, outline, cv2.LINE_8),
                                    (img, fill, 0., cv2.LINE_AA)):
        for prim in prims:
            if prim[0] == 'capsule':
                capsule(canvas, prim[1], prim[2], prim[3] + grow,
                        prim[4] + grow, col, line)
            elif prim[0] == 'circle':
                cv2.circle(canvas, pt(prim[1]),
                           max(1, int((prim[2] + grow) * ONE)), col, -1, line,
                           SHIFT)
            else:
                pts = np.round(prim[1] * ONE).astype(np.int32)
                cv2.fillConvexPoly(canvas, pts, col, line, SHIFT)
                if grow > 0:
                    cv2.polylines(canvas, [pts], True, col,
                                  max(1, int(round(2 * grow))), line, SHIFT)


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A random (h, w, 3) float32 texture: flat, stripes, checks or a
    gradient, with grain."""
    base = rng.uniform(15, 240, 3).astype(np.float32)
    other = rng.uniform(15, 240, 3).astype(np.float32)
    kind = rng.integers(4)
    if kind == 0:
        tex = np.broadcast_to(base, (h, w, 3)).astype(np.float32)
    else:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        theta = rng.uniform(0, np.pi)
        t = xx * math.cos(theta) + yy * math.sin(theta)
        if kind == 1:
            mix = 0.5 + 0.5 * np.sin(t * (2 * np.pi / rng.uniform(3, 16)))
        elif kind == 2:
            cell = rng.uniform(3, 14)
            mix = ((np.floor(xx / cell) + np.floor(yy / cell)) % 2)
        else:
            mix = (t - t.min()) / max(1e-6, float(np.ptp(t)))
        tex = base + (other - base) * mix[..., None]
    grain = rng.uniform(2, 12)
    return tex + grain * rng.standard_normal((h, w, 3), dtype=np.float32)


def paint_textured(rng: np.random.Generator, img: np.ndarray,
                   owner: Optional[np.ndarray], owner_id: int,
                   shape: Tuple[str, object]) -> None:
    """Paint a textured object (anti-aliased) and claim its pixels.

    Args:
        shape (tuple): ``('ellipse', (cx, cy, ax, ay, angle))`` or
            ``('poly', points (N, 2))``.
    """
    img_h, img_w = img.shape[:2]
    kind, geom = shape
    if kind == 'ellipse':
        cx, cy, ax, ay, _ = geom
        r = max(ax, ay) + 2
        box = (cx - r, cy - r, cx + r, cy + r)
    else:
        box = (*geom.min(0) - 2, *geom.max(0) + 2)
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(img_w, int(box[2]) + 1), min(img_h, int(box[3]) + 1)
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    origin = np.array([x0, y0], dtype=np.float64)
    if kind == 'ellipse':
        cx, cy, ax, ay, angle = geom
        cv2.ellipse(mask, pt(np.array([cx, cy]) - origin),
                    (max(1, int(ax * ONE)), max(1, int(ay * ONE))), angle, 0,
                    360, 255, -1, cv2.LINE_AA, SHIFT)
    else:
        cv2.fillPoly(mask, [np.round((geom - origin) * ONE).astype(np.int32)],
                     255, cv2.LINE_AA, SHIFT)
    alpha = mask[..., None].astype(np.float32) / 255.
    crop = img[y0:y1, x0:x1].astype(np.float32)
    tex = _texture(rng, y1 - y0, x1 - x0)
    img[y0:y1, x0:x1] = np.clip(crop + (tex - crop) * alpha, 0,
                                255).astype(np.uint8)
    if owner is not None:
        owner[y0:y1, x0:x1][mask >= 128] = owner_id


def random_shape(rng: np.random.Generator, centre: np.ndarray,
                 size: float) -> Tuple[str, object]:
    """An ellipse, a (rotated) rectangle or a random polygon of about
    ``size`` pixels at ``centre``."""
    kind = rng.integers(3)
    if kind == 0:
        return 'ellipse', (centre[0], centre[1], size * rng.uniform(0.3, 0.6),
                           size * rng.uniform(0.3, 0.6), rng.uniform(0, 180))
    if kind == 1:
        w, h = size * rng.uniform(0.4, 1.2), size * rng.uniform(0.4, 1.2)
        angle = rng.uniform(0, np.pi) if rng.random() < 0.4 else 0.
        c, s = math.cos(angle), math.sin(angle)
        corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
        return 'poly', corners @ np.array([[c, s], [-s, c]]) + centre
    n = rng.integers(3, 8)
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = size * rng.uniform(0.25, 0.6, n)
    return 'poly', centre + np.stack(
        [radii * np.cos(angles), radii * np.sin(angles)], 1)


def background(
        rng: np.random.Generator, img_w: int, img_h: int,
        profile: SyntheticProfile) -> Tuple[np.ndarray, List[List[float]]]:
    """A cluttered background and the boxes of its person-like distractors
    (limb-like sticks, head-like blobs)."""
    yy, xx = np.mgrid[0:img_h, 0:img_w].astype(np.float32)
    theta = rng.uniform(0, 2 * np.pi)
    t = xx * math.cos(theta) + yy * math.sin(theta)
    t = (t - t.min()) / max(1e-6, float(np.ptp(t)))
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    bg = c0.astype(np.float32) + (c1 - c0).astype(np.float32) * t[..., None]
    cells = rng.integers(3, 9)
    blobs = rng.normal(0, 30, (cells, cells, 3)).astype(np.float32)
    bg += cv2.resize(blobs, (img_w, img_h), interpolation=cv2.INTER_CUBIC)
    img = np.clip(bg, 0, 255).astype(np.uint8)

    side = min(img_w, img_h)
    for _ in range(rng.integers(*profile.clutter_shapes)):
        centre = rng.uniform([0, 0], [img_w, img_h])
        size = side * rng.uniform(0.05, 0.5)
        if rng.random() < 0.35:
            paint_textured(rng, img, None, 0, random_shape(rng, centre, size))
        else:
            kind, geom = random_shape(rng, centre, size)
            colour = tuple(rng.uniform(0, 255, 3).tolist())
            if kind == 'ellipse':
                cx, cy, ax, ay, angle = geom
                cv2.ellipse(img, pt(np.array([cx, cy])),
                            (max(1, int(ax * ONE)), max(1, int(ay * ONE))),
                            angle, 0, 360, colour, -1, cv2.LINE_AA, SHIFT)
            else:
                cv2.fillPoly(img, [np.round(geom * ONE).astype(np.int32)],
                             colour, cv2.LINE_AA, SHIFT)

    distractors = []
    skins = SKIN_TONES
    for _ in range(rng.integers(0, profile.limb_distractors)):
        # A limb-like stick, sometimes bent at a joint.
        colour = (skins[rng.integers(len(skins))]
                  if rng.random() < 0.5 else rng.uniform(10, 245, 3))
        radius = side * rng.uniform(0.008, 0.03)
        pts = [rng.uniform([0, 0], [img_w, img_h])]
        for _ in range(1 + (rng.random() < 0.5)):
            ang = rng.uniform(0, 2 * np.pi)
            pts.append(pts[-1] + side * rng.uniform(0.08, 0.3) *
                       np.array([math.cos(ang), math.sin(ang)]))
        for a, b in zip(pts[:-1], pts[1:]):
            for col, grow in ((colour * 0.5, 0.8), (colour, 0.)):
                capsule(img, a, b, radius + grow, radius * 0.8 + grow,
                        tuple(col.tolist()), cv2.LINE_AA)
        pts = np.stack(pts)
        distractors.append([*pts.min(0) - radius, *pts.max(0) + radius])
    for _ in range(rng.integers(0, profile.head_distractors)):
        # A head-like blob.
        centre = rng.uniform([0, 0], [img_w, img_h])
        radius = side * rng.uniform(0.02, 0.07)
        cv2.circle(img, pt(centre), int(radius * ONE),
                   tuple(skins[rng.integers(len(skins))].tolist()), -1,
                   cv2.LINE_AA, SHIFT)
        distractors.append([*centre - radius, *centre + radius])
    return img, distractors


def degrade(rng: np.random.Generator, img: np.ndarray,
            profile: SyntheticProfile) -> Tuple[np.ndarray, int]:
    """Low image quality on a share of the images: low contrast, blur,
    noise and (through the returned JPEG quality) compression artefacts."""
    out = img.astype(np.float32)
    if rng.random() < profile.low_contrast_p:
        mean = out.mean()
        out = mean + (out - mean) * rng.uniform(0.3, 0.65) + rng.uniform(
            -40, 40)
    if rng.random() < profile.blur_p:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.6, 2.0))
    elif rng.random() < profile.motion_blur_p:
        size = int(rng.integers(2, 6)) * 2 + 1
        kernel = np.zeros((size, size), dtype=np.float32)
        ang = rng.uniform(0, np.pi)
        d = (size // 2) * np.array([math.cos(ang), math.sin(ang)])
        c = np.array([size // 2, size // 2], dtype=np.float64)
        cv2.line(kernel, pt(c - d), pt(c + d), 1., 1, cv2.LINE_AA, SHIFT)
        out = cv2.filter2D(out, -1, kernel / kernel.sum())
    # Every image has a little sensor noise; some have a lot.
    sigma = (rng.uniform(4, 16)
             if rng.random() < profile.strong_noise_p else rng.uniform(0.5, 3))
    out += sigma * rng.standard_normal(out.shape, dtype=np.float32)
    quality = (int(rng.integers(12, 40))
               if rng.random() < profile.low_jpeg_p else 92)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), quality
