# Copyright (c) oksnet-mmpose contributors.
"""A deterministic synthetic COCO-format person-keypoint dataset.

Real COCO cannot be downloaded where this project is tested, so the end-to-end
runs use images of articulated 17-keypoint figures that carry what makes the
heatmap-mean pose score wrong according to the OKS-net paper: occlusion by
objects and by other people, truncation at the image border, overlapping
people (swap errors), subtle left/right cues (inversions), small people and
low image quality, on cluttered backgrounds with limb-like distractors.

Each figure is a 3D stick skeleton (COCO keypoint order, human proportions,
joint limits, torso lean and twist, head turn) seen from any side and projected
orthographically. Its body parts are painted far to near (painter's
algorithm) into the image and, with one id per part and layer, into an owner
map. The owner map gives the COCO labels: a keypoint whose neighbourhood is
covered by something in front is occluded (``v=1`` when an annotator would
still place it, else ``v=0``), one outside the image is ``v=0``, ``area`` is
the pixel count of the visible silhouette and ``bbox`` its tight box.

Every image is drawn from its own RNG seeded with ``(seed, split, index)``, so
the dataset does not depend on the order (or the processes) it is made in.
"""
import contextlib
import json
import math
import multiprocessing
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.logging import print_log

__all__ = ['generate_synthetic_coco', 'COCO_KEYPOINT_NAMES', 'COCO_SKELETON']

# Bump whenever the drawn data changes, so that a dataset made by an older
# generator is not silently reused (it is part of the completion marker).
GENERATOR_VERSION = '1.2'
MARKER_FILE = '.complete.json'

COCO_KEYPOINT_NAMES = ('nose', 'left_eye', 'right_eye', 'left_ear',
                       'right_ear', 'left_shoulder', 'right_shoulder',
                       'left_elbow', 'right_elbow', 'left_wrist',
                       'right_wrist', 'left_hip', 'right_hip', 'left_knee',
                       'right_knee', 'left_ankle', 'right_ankle')
# COCO's person skeleton, 1-based keypoint indices as in the annotation files.
COCO_SKELETON = ((16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12),
                 (7, 13), (6, 7), (6, 8), (7, 9), (8, 10), (9, 11), (2, 3),
                 (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7))

_PERSON_CATEGORY = dict(
    supercategory='person',
    id=1,
    name='person',
    keypoints=list(COCO_KEYPOINT_NAMES),
    skeleton=[list(link) for link in COCO_SKELETON])

_SPLIT_IDS = {'train': 0, 'val': 1}
# Image ids of a split start here, so that ids are unique across splits and
# do not depend on the size of the other split.
_SPLIT_ID_BASE = 10_000_000
# Annotation id = image id * this + person index.
_MAX_PEOPLE_PER_IMAGE = 100
# Visible silhouettes smaller than this are not annotated, as in COCO, where
# such slivers of people are left out.
_MIN_ANNOTATED_AREA = 64

# Body part ids. They are the low 5 bits of an owner-map id, the drawing
# layer (background 0, then people and occluders far to near) the high bits.
(_TORSO, _NECK, _HEAD, _L_EAR, _R_EAR, _L_UPPER_ARM, _R_UPPER_ARM, _L_FOREARM,
 _R_FOREARM, _L_HAND, _R_HAND, _L_THIGH, _R_THIGH, _L_SHIN, _R_SHIN, _L_FOOT,
 _R_FOOT) = range(17)
_PART_BITS = 5

# The parts a keypoint lies on: it is visible when these, rather than
# something painted after them, own the pixels around it.
_KPT_PARTS = ((_HEAD, ), (_HEAD, ), (_HEAD, ), (_HEAD, _L_EAR),
              (_HEAD, _R_EAR), (_L_UPPER_ARM, ), (_R_UPPER_ARM, ),
              (_L_UPPER_ARM, _L_FOREARM), (_R_UPPER_ARM, _R_FOREARM),
              (_L_FOREARM, _L_HAND), (_R_FOREARM, _R_HAND), (_L_THIGH, ),
              (_R_THIGH, ), (_L_THIGH, _L_SHIN), (_R_THIGH, _R_SHIN),
              (_L_SHIN, _L_FOOT), (_R_SHIN, _R_FOOT))
# Half-size of the body at each keypoint, as a fraction of the person's
# height; the visibility test looks at the pixels within it.
_KPT_RADIUS = np.array([
    0.012, 0.010, 0.010, 0.016, 0.016, 0.032, 0.032, 0.026, 0.026, 0.019,
    0.019, 0.045, 0.045, 0.034, 0.034, 0.024, 0.024
])

# Limbs touch the torso's surface, not its axis: painted by their axis depth
# alone, an arm hanging beside a slightly turned torso would vanish behind it.
_LIMB_DEPTH_BIAS = 0.06

# Skin tones (BGR), light to dark.
_SKIN_TONES = np.array([[189, 214, 241], [160, 194, 228], [130, 170, 214],
                        [104, 142, 193], [80, 116, 160], [58, 86, 122],
                        [44, 62, 92]],
                       dtype=np.float64)
_HAIR_COLOURS = np.array([[20, 20, 25], [30, 45, 70], [40, 70, 110],
                          [90, 140, 190], [150, 150, 155], [60, 60, 60]],
                         dtype=np.float64)

# Fixed-point precision of the OpenCV drawing calls (1/16 pixel), so that
# small people keep their sub-pixel geometry.
_SHIFT = 4
_ONE = 1 << _SHIFT


def _rx(deg: float) -> np.ndarray:
    """Rotation about x (the person's left); positive tips +y towards +z."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1., 0., 0.], [0., c, -s], [0., s, c]])


def _ry(deg: float) -> np.ndarray:
    """Rotation about y (up); positive turns +z (forward) towards +x."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0., s], [0., 1., 0.], [-s, 0., c]])


def _rz(deg: float) -> np.ndarray:
    """Rotation about z (forward); positive turns -y (down) towards +x."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0.], [s, c, 0.], [0., 0., 1.]])


def _limb(flex: float, abduct: float, bend: float,
          twist: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directions of the two segments of a left limb hanging from its root.

    Body frame: x is the person's left, y up, z forward; at rest the limb
    points down. Mirror x for a right limb.

    Args:
        flex (float): Forward swing of the proximal segment in degrees
            (90: pointing forward, 180: up).
        abduct (float): Sideways (outward) swing in degrees.
        bend (float): Bend of the middle joint in degrees; positive folds the
            distal segment forwards (elbow), negative backwards (knee).
        twist (float): Rotation of the bending plane about the proximal
            segment in degrees.

    Returns:
        tuple[np.ndarray]: Unit vectors (3, ) of the proximal segment, of the
        distal segment and of the distal segment's front (where the toes or
        the palm point).
    """
    base = _rz(abduct) @ _rx(-flex)
    prox = base @ np.array([0., -1., 0.])
    front = base @ np.array([0., 0., 1.])
    tw = math.radians(twist)
    front = math.cos(tw) * front + math.sin(tw) * np.cross(prox, front)
    bd = math.radians(bend)
    dist = math.cos(bd) * prox + math.sin(bd) * front
    dist_front = math.cos(bd) * front - math.sin(bd) * prox
    return prox, dist, dist_front


def _mirror(v: np.ndarray) -> np.ndarray:
    return v * np.array([-1., 1., 1.])


# Everyday arm postures and how often they are drawn.
_ARM_MODES = ('hang', 'raised', 'side', 'forward', 'akimbo', 'phone', 'free')
_ARM_MODE_P = (0.4, 0.13, 0.1, 0.12, 0.07, 0.06, 0.12)


def _arm_angles(rng: np.random.Generator, mode: str,
                swing: float) -> Tuple[float, float, float, float]:
    """(flex, abduct, bend, twist) of an arm in one of ``_ARM_MODES``."""
    u, n = rng.uniform, rng.normal
    if mode == 'hang':
        return n(4, 8) + swing, u(4, 18), u(0, 30) + abs(swing) * .6, n(0, 20)
    if mode == 'raised':
        return u(100, 178), u(0, 60), u(0, 70), u(-60, 60)
    if mode == 'side':
        return u(-10, 40), u(55, 120), u(0, 100), u(-90, 90)
    if mode == 'forward':
        return u(35, 100), u(-15, 35), u(0, 110), u(-60, 60)
    if mode == 'akimbo':
        # Hand on the hip: elbow out, forearm folded back towards the waist.
        return u(-15, 15), u(35, 60), u(90, 130), u(70, 100)
    if mode == 'phone':
        # Hand at the face or the chest.
        return u(15, 50), u(0, 25), u(110, 145), u(-30, 20)
    # Anything within the joint limits.
    return u(-45, 180), u(-10, 150), u(0, 145), u(-90, 90)


def _sample_pose(rng: np.random.Generator) -> Dict[str, object]:
    """Joint angles (degrees) of a random but plausible body posture.

    Legs and arms are (flex, abduct, bend, twist) as taken by :func:`_limb`
    (knees bend with a negative angle), left first.
    """
    u, n = rng.uniform, rng.normal
    kind = rng.choice(['stand', 'walk', 'sit', 'bend', 'squat', 'free'],
                      p=[0.28, 0.25, 0.12, 0.1, 0.08, 0.17])
    pitch, roll, twist = n(3, 5), n(0, 4), n(0, 8)
    swing = 0.
    if kind == 'stand':
        legs = [(n(0, 5), u(0, 15), -u(0, 12), n(0, 8)) for _ in range(2)]
    elif kind == 'walk':
        # The left leg swings by ``stride``, the right one the other way;
        # the leg behind bends its knee more.
        stride = u(10, 35) * rng.choice([-1., 1.])
        front_knee, back_knee = -u(0, 15), -u(15, 50)
        legs = [(stride, u(0, 6), front_knee if stride > 0 else back_knee, 0.),
                (-0.8 * stride, u(0, 6),
                 back_knee if stride > 0 else front_knee, 0.)]
        swing = 0.8 * stride
    elif kind == 'sit':
        pitch = u(-12, 20)
        legs = [(u(70, 105), u(0, 25), -u(70, 110), n(0, 10))
                for _ in range(2)]
    elif kind == 'bend':
        pitch = u(35, 90)
        legs = [(u(-5, 15), u(0, 12), -u(0, 35), 0.) for _ in range(2)]
    elif kind == 'squat':
        pitch = u(5, 40)
        legs = [(u(60, 120), u(5, 35), -u(100, 145), n(0, 10))
                for _ in range(2)]
        if rng.random() < 0.4:
            # Kneeling on one knee.
            legs[rng.integers(2)] = (u(-10, 15), u(0, 10), -u(80, 120), 0.)
    else:
        pitch = u(-15, 50)
        legs = [(u(-25, 110), u(-10, 45), -u(0, 140), n(0, 15))
                for _ in range(2)]

    arms = []
    for sign in (-1., 1.):
        if kind == 'bend':
            # Arms hang with gravity, i.e. flexed by the torso's lean.
            mode = rng.choice(['bent-hang', 'forward', 'free'],
                              p=[0.6, 0.25, 0.15])
            if mode == 'bent-hang':
                arms.append((pitch + n(0, 15), u(0, 20), u(0, 50), n(0, 20)))
                continue
        else:
            mode = rng.choice(_ARM_MODES, p=_ARM_MODE_P)
        # Arms swing against the legs when walking.
        arms.append(_arm_angles(rng, mode, sign * swing))

    return dict(
        torso=(pitch, roll, twist),
        head=(n(0, 25), n(5, 15), n(0, 8)),
        legs=legs,
        arms=arms)


# Rows of the point array of a person: the 17 keypoints, then these.
(_P_NECK, _P_HEAD, _P_L_HAND_END, _P_R_HAND_END, _P_L_TOE, _P_R_TOE,
 _P_MOUTH) = range(17, 24)
_P_TORSO_HULL = 24  # first of the torso outline points

# Face points around the head centre, in the head's frame (unit height):
# nose, left eye, right eye, left ear, right ear, mouth.
_FACE_OFFSETS = np.array([[0., -0.012, 0.07], [0.03, 0.012, 0.055],
                          [-0.03, 0.012, 0.055], [0.066, 0., -0.008],
                          [-0.066, 0., -0.008], [0., -0.036, 0.058]])
# Where the face keypoints face: a keypoint turned away from the camera is
# hidden by the head itself.
_FACE_NORMALS = np.array([[0., 0., 1.], [0.35, 0.1, 1.], [-0.35, 0.1, 1.],
                          [1., 0., 0.], [-1., 0., 0.]])
_FACE_NORMALS /= np.linalg.norm(_FACE_NORMALS, axis=1, keepdims=True)


def _person_3d(rng: np.random.Generator, pose: Dict[str, object],
               view: np.ndarray) -> Dict[str, np.ndarray]:
    """3D points of one person of unit height, in the camera frame.

    Args:
        rng (np.random.Generator): For the body proportions.
        pose (dict): Joint angles from :func:`_sample_pose`.
        view (np.ndarray): Rotation (3, 3) from the body frame to the camera
            frame (x right, y up, z towards the camera).

    Returns:
        dict[str, np.ndarray]: ``points`` (N, 3) (rows: the 17 keypoints, then
        the ``_P_NECK``... extras and the torso outline), ``face_normals``
        (5, 3) of the face keypoints, ``head_forward`` (3, ), ``torso_left``
        and ``pelvis_left`` (3, ) (the person's left in the camera frame).
    """
    # Proportions (fractions of the height) with a little individuality.
    width = rng.normal(1., 0.06)
    sh_hw, hip_hw = 0.115 * width, 0.085 * width
    upper_arm, forearm = 0.18 * rng.normal(1, .03), 0.155 * rng.normal(1, .03)
    thigh, shin = 0.245, 0.245
    hand, foot = 0.07, 0.10

    pelvis = np.array([0., 0.53, 0.])
    torso_rot = _ry(pose['torso'][2]) @ _rz(pose['torso'][1]) @ _rx(
        pose['torso'][0])
    neck = pelvis + torso_rot @ np.array([0., 0.29, 0.])
    shoulders = [
        neck + torso_rot @ np.array([sign * sh_hw, -0.015, -0.01])
        for sign in (1., -1.)
    ]
    hips = [
        pelvis + np.array([sign * hip_hw, -0.02, 0.]) for sign in (1., -1.)
    ]

    head_yaw, head_pitch, head_roll = pose['head']
    head_rot = torso_rot @ _ry(head_yaw) @ _rx(head_pitch) @ _rz(head_roll)
    head = neck + torso_rot @ _rx(0.4 * head_pitch) @ np.array([0., .105, 0.])
    face = head + _FACE_OFFSETS @ head_rot.T

    arms, legs = [], []
    for side, sign in ((0, 1.), (1, -1.)):
        flip = (lambda v: v) if sign > 0 else _mirror
        prox, dist, _ = _limb(*pose['arms'][side])
        prox, dist = torso_rot @ flip(prox), torso_rot @ flip(dist)
        elbow = shoulders[side] + upper_arm * prox
        wrist = elbow + forearm * dist
        arms.append((elbow, wrist, wrist + hand * dist))

        prox, dist, dist_front = (flip(v) for v in _limb(*pose['legs'][side]))
        knee = hips[side] + thigh * prox
        ankle = knee + shin * dist
        toe_dir = dist_front + 0.25 * dist
        legs.append(
            (knee, ankle, ankle + foot * toe_dir / np.linalg.norm(toe_dir)))

    # The torso as the hull of a box from the shoulders to below the hips,
    # thick front to back so that it keeps a body in side views.
    hull = [
        neck + torso_rot @ np.array([sx * 0.095, -0.01, sz * 0.05])
        for sx in (1., -1.) for sz in (1., -1.)
    ] + [
        pelvis + np.array([sx * (hip_hw + 0.03), -0.035, sz * 0.055])
        for sx in (1., -1.) for sz in (1., -1.)
    ]
    (l_elbow, l_wrist, l_hand), (r_elbow, r_wrist, r_hand) = arms
    (l_knee, l_ankle, l_toe), (r_knee, r_ankle, r_toe) = legs
    points = np.stack([
        *face[:5], *shoulders, l_elbow, r_elbow, l_wrist, r_wrist, *hips,
        l_knee, r_knee, l_ankle, r_ankle, neck, head, l_hand, r_hand, l_toe,
        r_toe, face[5], *hull
    ])
    face_normals = _FACE_NORMALS @ head_rot.T
    return dict(
        points=points @ view.T,
        face_normals=face_normals @ view.T,
        head_forward=view @ head_rot @ np.array([0., 0., 1.]),
        torso_left=view @ torso_rot @ np.array([1., 0., 0.]),
        pelvis_left=view @ np.array([1., 0., 0.]))


def _sample_appearance(rng: np.random.Generator) -> Dict[str, object]:
    """Colours (BGR) and clothing of one person."""
    light = rng.uniform(0.65, 1.1)
    skin = _SKIN_TONES[rng.integers(len(_SKIN_TONES))] * rng.uniform(
        0.92, 1.08)
    return dict(
        skin=np.clip(skin * light, 0, 255),
        hair=np.clip(_HAIR_COLOURS[rng.integers(len(_HAIR_COLOURS))] * light,
                     0, 255),
        shirt=rng.uniform(15, 240, 3) * light,
        pants=rng.uniform(15, 200, 3) * light,
        shoes=rng.uniform(10, 90, 3) * light,
        short_sleeves=rng.random() < 0.45,
        shorts=rng.random() < 0.25,
        # The person's left is subtly darker and (often) wears a watch: the
        # only cues that tell left from right, as in real photos.
        left_shade=rng.uniform(0.8, 0.9),
        watch=rng.random() < 0.6)


def _pt(p: np.ndarray) -> Tuple[int, int]:
    return int(round(p[0] * _ONE)), int(round(p[1] * _ONE))


def _capsule(canvas: np.ndarray, p0: np.ndarray, p1: np.ndarray, r0: float,
             r1: float, colour, line_type: int) -> None:
    """A tapered capsule: end discs joined by their outer tangents."""
    cv2.circle(canvas, _pt(p0), max(1, int(r0 * _ONE)), colour, -1, line_type,
               _SHIFT)
    cv2.circle(canvas, _pt(p1), max(1, int(r1 * _ONE)), colour, -1, line_type,
               _SHIFT)
    d = p1 - p0
    n = math.hypot(d[0], d[1])
    if n > 1e-6:
        nrm = np.array([-d[1], d[0]]) / n
        quad = np.stack(
            [p0 + nrm * r0, p1 + nrm * r1, p1 - nrm * r1, p0 - nrm * r0])
        cv2.fillConvexPoly(canvas,
                           np.round(quad * _ONE).astype(np.int32), colour,
                           line_type, _SHIFT)


def _paint_part(img: np.ndarray, owner: np.ndarray, prims: Sequence[tuple],
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
                _capsule(canvas, prim[1], prim[2], prim[3] + grow,
                         prim[4] + grow, col, line)
            elif prim[0] == 'circle':
                cv2.circle(canvas, _pt(prim[1]),
                           max(1, int((prim[2] + grow) * _ONE)), col, -1, line,
                           _SHIFT)
            else:
                pts = np.round(prim[1] * _ONE).astype(np.int32)
                cv2.fillConvexPoly(canvas, pts, col, line, _SHIFT)
                if grow > 0:
                    cv2.polylines(canvas, [pts], True, col,
                                  max(1, int(round(2 * grow))), line, _SHIFT)


class _Person:
    """One figure placed in the image: its 2D geometry, depths and parts.

    Args:
        rng (np.random.Generator): The image's RNG.
        height (float): Standing height in pixels.
    """

    def __init__(self, rng: np.random.Generator, height: float) -> None:
        # Views: frontal and 3/4 the most common, then side and back.
        if rng.random() < 0.5:
            yaw = rng.normal(0, 20)
        else:
            yaw = rng.uniform(-180, 180)
        view = _rx(rng.normal(0, 6)) @ _ry(yaw)
        body = _person_3d(rng, _sample_pose(rng), view)
        roll = rng.normal(0, 6) if rng.random() > 0.03 else rng.uniform(
            -180, 180)
        c, s = math.cos(math.radians(roll)), math.sin(math.radians(roll))
        # Camera frame (y up) to image plane (y down), rolled in-plane.
        self.plane = np.array([[c, s], [-s, c]]) @ np.array([[1., 0.],
                                                             [0., -1.]])
        self.height = height
        self.depths = body['points'][:, 2]
        self.xy = body['points'][:, :2] @ self.plane.T * height
        self.body = body
        self.appearance = _sample_appearance(rng)
        pad = 0.07 * height
        self.extent = np.concatenate(
            [self.xy.min(0) - pad, self.xy.max(0) + pad])
        self.scene_depth = 0.
        self.layer = -1

    def shift(self, offset: np.ndarray) -> None:
        self.xy = self.xy + offset
        self.extent = self.extent + np.tile(offset, 2)

    @property
    def center(self) -> np.ndarray:
        return (self.extent[:2] + self.extent[2:]) / 2

    @property
    def size(self) -> np.ndarray:
        return self.extent[2:] - self.extent[:2]

    def _to_plane(self, v: np.ndarray) -> np.ndarray:
        """A camera-frame direction as an image-plane one."""
        return self.plane @ v[:2]

    def parts(self) -> List[Tuple[float, int, list, np.ndarray]]:
        """(depth, part id, primitives, colour) of each part."""
        h, xy, z, app = self.height, self.xy, self.depths, self.appearance
        sleeve = app['skin'] if app['short_sleeves'] else app['shirt']
        shin_col = app['skin'] if app['shorts'] else app['pants']
        hull = xy[_P_TORSO_HULL:].astype(np.float32)
        hull = cv2.convexHull(hull)[:, 0].astype(np.float64)

        torso_z = z[_P_TORSO_HULL:].mean()
        neck = ('capsule', xy[_P_NECK], xy[_P_HEAD], 0.028 * h, 0.028 * h)
        parts = [
            (torso_z, _TORSO, [('poly', hull)], app['shirt']),
            # The neck is always behind the head and the torso.
            (min(z[_P_NECK], z[_P_HEAD], torso_z) - 0.01, _NECK, [neck],
             app['skin']),
            (z[_P_HEAD], _HEAD, [('circle', xy[_P_HEAD], 0.065 * h)],
             app['hair']),
        ]
        for kpt, part in ((3, _L_EAR), (4, _R_EAR)):
            parts.append((z[kpt], part, [('circle', xy[kpt], 0.018 * h)],
                          app['skin'] * 0.9))
        limb_specs = (
            # left part, from, to, radius from, radius to, colour
            (_L_UPPER_ARM, 5, 7, .032, .026, app['shirt']),
            (_L_FOREARM, 7, 9, .025, .019, sleeve),
            (_L_HAND, 9, _P_L_HAND_END, .021, .017, app['skin']),
            (_L_THIGH, 11, 13, .05, .035, app['pants']),
            (_L_SHIN, 13, 15, .034, .024, shin_col),
            (_L_FOOT, 15, _P_L_TOE, .022, .018, app['shoes']),
        )
        for side, shade in ((0, app['left_shade']), (1, 1.)):
            for part, a, b, ra, rb, colour in limb_specs:
                # The right-side twin has the next part id and point rows.
                part, a, b = part + side, a + side, b + side
                capsule = ('capsule', xy[a], xy[b], ra * h, rb * h)
                parts.append(((z[a] + z[b]) / 2 + _LIMB_DEPTH_BIAS, part,
                              [capsule], colour * shade))
        return parts

    def decorate(self, img: np.ndarray, part: int, colour: np.ndarray) -> None:
        """Details within a part's footprint: the face, the watch and the
        joint caps that make keypoints locatable."""
        h, xy, app = self.height, self.xy, self.appearance
        if part == _HEAD:
            fwd = self.body['head_forward']
            facing = fwd[2]
            if facing > -0.3:
                # The face: a skin disc shifted towards where the head looks;
                # the rest of the head circle is hair.
                centre = xy[_P_HEAD] + 0.3 * 0.065 * h * self._to_plane(
                    fwd) + self._to_plane(np.array([0., -0.008 * h, 0.]))
                radius = 0.065 * h * (0.55 + 0.3 * min(1., facing + 0.3))
                cv2.circle(img, _pt(centre), max(1, int(radius * _ONE)),
                           tuple(app['skin'].tolist()), -1, cv2.LINE_AA,
                           _SHIFT)
            normals = self.body['face_normals']
            dark = (30., 30., 40.)
            for k in (1, 2):
                if normals[k, 2] > 0.1:
                    cv2.circle(img, _pt(xy[k]),
                               max(_ONE // 2, int(0.009 * h * _ONE)), dark, -1,
                               cv2.LINE_AA, _SHIFT)
            if normals[0, 2] > 0.:
                cv2.circle(img, _pt(xy[0]),
                           max(_ONE // 2, int(0.008 * h * _ONE)),
                           tuple((app['skin'] * 0.7).tolist()), -1,
                           cv2.LINE_AA, _SHIFT)
                if normals[0, 2] > 0.3:
                    cv2.circle(img, _pt(xy[_P_MOUTH]),
                               max(_ONE // 2, int(0.007 * h * _ONE)),
                               (60., 60., 150.), -1, cv2.LINE_AA, _SHIFT)
        elif part in (_L_FOREARM, _R_FOREARM):
            elbow = 7 if part == _L_FOREARM else 8
            self._joint_cap(img, elbow, 0.013 * h, colour)
            if part == _L_FOREARM and app['watch']:
                watch = xy[9] + 0.18 * (xy[7] - xy[9])
                cv2.circle(img, _pt(watch),
                           max(_ONE // 2, int(0.016 * h * _ONE)),
                           (40., 40., 40.), -1, cv2.LINE_AA, _SHIFT)
        elif part in (_L_SHIN, _R_SHIN):
            self._joint_cap(img, 13 if part == _L_SHIN else 14, 0.017 * h,
                            colour)

    def _joint_cap(self, img: np.ndarray, kpt: int, radius: float,
                   colour: np.ndarray) -> None:
        cv2.circle(img, _pt(self.xy[kpt]), max(_ONE // 2, int(radius * _ONE)),
                   tuple((colour * 0.8).tolist()), -1, cv2.LINE_AA, _SHIFT)

    def draw(self, img: np.ndarray, owner: np.ndarray) -> Dict[int, int]:
        """Paint the person far to near; returns the paint order of each
        part, which decides whether a part covers a keypoint."""
        outline = max(0.6, self.height / 180.)
        ranks = {}
        for rank, (_, part, prims, colour) in enumerate(
                sorted(self.parts(), key=lambda p: (p[0], p[1]))):
            _paint_part(img, owner, prims, colour,
                        ((self.layer + 1) << _PART_BITS) | part, outline)
            self.decorate(img, part, colour)
            ranks[part] = rank
        return ranks

    def label(self, rng: np.random.Generator, owner: np.ndarray,
              ranks: Dict[int, int]) -> np.ndarray:
        """COCO visibility flags (17, ) from the owner map.

        A keypoint is visible (2) when its own parts own most of the pixels
        around it that are painted by its own parts or by something painted
        after them. Otherwise it is occluded, labelled 1 with the odds an
        annotator would still place it (likely for self-occlusion and partial
        cover, ~0.6 for full cover by something else), else 0. Keypoints
        outside the image are 0 (truncation).
        """
        img_h, img_w = owner.shape
        body = self.body
        face_facing = body['face_normals'][:, 2]
        # The torso does not hide a shoulder or hip on the side that faces
        # the camera (the joint is on the torso's outline).
        side_facing = {
            5: body['torso_left'][2],
            6: -body['torso_left'][2],
            11: body['pelvis_left'][2],
            12: -body['pelvis_left'][2]
        }
        vis = np.zeros(17, dtype=np.int64)
        for k in range(17):
            x, y = self.xy[k]
            if not (0 <= x <= img_w - 1 and 0 <= y <= img_h - 1):
                continue
            parts = set(_KPT_PARTS[k])
            if side_facing.get(k, -1.) > -0.35:
                parts.add(_TORSO)
            first = min(ranks[p] for p in parts)
            half = max(1, int(0.65 * _KPT_RADIUS[k] * self.height))
            xi, yi = int(round(x)), int(round(y))
            win = owner[max(0, yi - half):yi + half + 1,
                        max(0, xi - half):xi + half + 1].astype(np.int64)
            layer, part = win >> _PART_BITS, win & ((1 << _PART_BITS) - 1)
            own = layer == self.layer + 1
            allowed = own & np.isin(part, list(parts))
            # Painted after this keypoint's first part: another layer in
            # front, or another part of this person.
            self_cover = own & ~allowed & np.isin(
                part, [p for p, r in ranks.items() if r > first])
            other_cover = layer > self.layer + 1
            n_vis, n_self, n_other = (int(allowed.sum()),
                                      int(self_cover.sum()),
                                      int(other_cover.sum()))
            covered = n_self + n_other
            frac = n_vis / (n_vis + covered) if n_vis + covered else 0.
            face_hidden = k < 5 and face_facing[k] <= (0.1 if k < 3 else -0.3)
            if frac >= 0.5 and not face_hidden:
                vis[k] = 2
                continue
            if face_hidden:
                # The back of the head: eyes and nose are rarely guessed.
                p_label = 0.05 if (k < 3 and face_facing[k] < -0.35) else 0.5
            elif n_self >= n_other:
                p_label = 0.85
            elif frac > 0.15:
                p_label = 1.
            else:
                p_label = 0.6
            vis[k] = 1 if rng.random() < p_label else 0
        return vis


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


def _paint_textured(rng: np.random.Generator, img: np.ndarray,
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
        cv2.ellipse(mask, _pt(np.array([cx, cy]) - origin),
                    (max(1, int(ax * _ONE)), max(1, int(ay * _ONE))), angle, 0,
                    360, 255, -1, cv2.LINE_AA, _SHIFT)
    else:
        cv2.fillPoly(mask, [np.round((geom - origin) * _ONE).astype(np.int32)],
                     255, cv2.LINE_AA, _SHIFT)
    alpha = mask[..., None].astype(np.float32) / 255.
    crop = img[y0:y1, x0:x1].astype(np.float32)
    tex = _texture(rng, y1 - y0, x1 - x0)
    img[y0:y1, x0:x1] = np.clip(crop + (tex - crop) * alpha, 0,
                                255).astype(np.uint8)
    if owner is not None:
        owner[y0:y1, x0:x1][mask >= 128] = owner_id


def _random_shape(rng: np.random.Generator, centre: np.ndarray,
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


def _background(rng: np.random.Generator, img_w: int,
                img_h: int) -> Tuple[np.ndarray, List[List[float]]]:
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
    for _ in range(rng.integers(3, 14)):
        centre = rng.uniform([0, 0], [img_w, img_h])
        size = side * rng.uniform(0.05, 0.5)
        if rng.random() < 0.35:
            _paint_textured(rng, img, None, 0,
                            _random_shape(rng, centre, size))
        else:
            kind, geom = _random_shape(rng, centre, size)
            colour = tuple(rng.uniform(0, 255, 3).tolist())
            if kind == 'ellipse':
                cx, cy, ax, ay, angle = geom
                cv2.ellipse(img, _pt(np.array([cx, cy])),
                            (max(1, int(ax * _ONE)), max(1, int(ay * _ONE))),
                            angle, 0, 360, colour, -1, cv2.LINE_AA, _SHIFT)
            else:
                cv2.fillPoly(img, [np.round(geom * _ONE).astype(np.int32)],
                             colour, cv2.LINE_AA, _SHIFT)

    distractors = []
    skins = _SKIN_TONES
    for _ in range(rng.integers(0, 3)):
        # A limb-like stick, sometimes bent at a joint.
        colour = (
            skins[rng.integers(len(skins))]
            if rng.random() < 0.5 else rng.uniform(10, 245, 3))
        radius = side * rng.uniform(0.008, 0.03)
        pts = [rng.uniform([0, 0], [img_w, img_h])]
        for _ in range(1 + (rng.random() < 0.5)):
            ang = rng.uniform(0, 2 * np.pi)
            pts.append(pts[-1] + side * rng.uniform(0.08, 0.3) *
                       np.array([math.cos(ang), math.sin(ang)]))
        for a, b in zip(pts[:-1], pts[1:]):
            for col, grow in ((colour * 0.5, 0.8), (colour, 0.)):
                _capsule(img, a, b, radius + grow, radius * 0.8 + grow,
                         tuple(col.tolist()), cv2.LINE_AA)
        pts = np.stack(pts)
        distractors.append([*pts.min(0) - radius, *pts.max(0) + radius])
    for _ in range(rng.integers(0, 3)):
        # A head-like blob.
        centre = rng.uniform([0, 0], [img_w, img_h])
        radius = side * rng.uniform(0.02, 0.07)
        cv2.circle(img, _pt(centre), int(radius * _ONE),
                   tuple(skins[rng.integers(len(skins))].tolist()), -1,
                   cv2.LINE_AA, _SHIFT)
        distractors.append([*centre - radius, *centre + radius])
    return img, distractors


def _degrade(rng: np.random.Generator,
             img: np.ndarray) -> Tuple[np.ndarray, int]:
    """Low image quality on a share of the images: low contrast, blur,
    noise and (through the returned JPEG quality) compression artefacts."""
    out = img.astype(np.float32)
    if rng.random() < 0.15:
        mean = out.mean()
        out = mean + (out - mean) * rng.uniform(0.3, 0.65) + rng.uniform(
            -40, 40)
    if rng.random() < 0.15:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.6, 2.0))
    elif rng.random() < 0.1:
        size = int(rng.integers(2, 6)) * 2 + 1
        kernel = np.zeros((size, size), dtype=np.float32)
        ang = rng.uniform(0, np.pi)
        d = (size // 2) * np.array([math.cos(ang), math.sin(ang)])
        c = np.array([size // 2, size // 2], dtype=np.float64)
        cv2.line(kernel, _pt(c - d), _pt(c + d), 1., 1, cv2.LINE_AA, _SHIFT)
        out = cv2.filter2D(out, -1, kernel / kernel.sum())
    # Every image has a little sensor noise; some have a lot.
    sigma = rng.uniform(4, 16) if rng.random() < 0.2 else rng.uniform(0.5, 3)
    out += sigma * rng.standard_normal(out.shape, dtype=np.float32)
    quality = int(rng.integers(12, 40)) if rng.random() < 0.1 else 92
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), quality


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _place_people(rng: np.random.Generator, img_w: int,
                  img_h: int) -> List[_Person]:
    """1-4 people (sometimes a crowd) of COCO medium and large sizes, some
    overlapping and some cut by the image border."""
    side = min(img_w, img_h)
    # Mostly one or two people, as in COCO's person images; crowds are
    # rarer (v1.1: a small model trained for minutes on a CPU must reach
    # COCO-like OKS, with a long tail, not mostly failures).
    num = int(
        rng.choice([1, 2, 3, 4, 5, 6, 7],
                   p=[.44, .3, .13, .07, .03, .02, .01]))
    crowd = num >= 5
    people: List[_Person] = []
    for _ in range(num):
        if crowd:
            rel = _log_uniform(rng, 0.3, 0.8)
        elif rng.random() < 0.08:
            # Far away: COCO's small people.
            rel = _log_uniform(rng, 0.2, 0.35)
        else:
            # close-ups up to 1.4x the image side, cut by the border
            rel = _log_uniform(rng, 0.5, 1.4)
        person = _Person(rng, rel * side)
        size = person.size
        lo = size / 2
        hi = np.array([img_w, img_h]) - size / 2
        target = rng.uniform(np.minimum(lo, hi), np.maximum(lo, hi))
        if people and rng.random() < (0.75 if crowd else 0.3):
            # Next to (and overlapping) someone already placed.
            ref = people[rng.integers(len(people))]
            dx = rng.choice([-1, 1]) * rng.uniform(0.2, 1.) * max(
                size[0], ref.size[0])
            target = np.array([
                ref.center[0] + dx,
                ref.extent[3] - size[1] / 2 + rng.normal(0, 0.1) * size[1]
            ]).clip(0, [img_w, img_h])
        elif rng.random() < 0.3:
            # Cut by one image border, 15-85% of it staying inside.
            axis, far = rng.integers(2), rng.random() < 0.5
            inside = rng.uniform(0.15, 0.85) * size[axis]
            beyond = size[axis] / 2 - inside  # of the centre, past the border
            target[axis] = [img_w, img_h][axis] + beyond if far else -beyond
        person.shift(target - person.center)
        # Bigger is nearer, with some slack for people of different heights.
        person.scene_depth = math.log(person.height) + rng.normal(0, 0.15)
        people.append(person)
    return people


def _occluders(rng: np.random.Generator, people: List[_Person], img_w: int,
               img_h: int) -> List[Tuple[float, tuple]]:
    """Objects in front of people: (scene depth, shape) of each."""
    out = []
    for _ in range(int(rng.choice([0, 1, 2, 3], p=[.6, .28, .09, .03]))):
        target = people[rng.integers(len(people))]
        h = target.height
        kpt = target.xy[rng.integers(17)]
        kind = rng.choice(['band', 'pole', 'wall', 'blob'],
                          p=[0.3, 0.12, 0.13, 0.45])
        if kind == 'wall':
            # A wall, a door or a car from one side, hiding most of a person.
            x = target.center[0] + rng.uniform(-0.4, 0.3) * target.size[0]
            if rng.random() < 0.5:
                x0, x1 = -1., x
            else:
                x0, x1 = 2 * target.center[0] - x, img_w + 1.
            y0 = target.extent[1] + rng.uniform(-0.2, 0.5) * target.size[1]
            shape = ('poly',
                     np.array([[x0, y0], [x1, y0], [x1, img_h + 1.],
                               [x0, img_h + 1.]]))
        elif kind == 'band':
            # A table, a car or a fence hiding the lower body.
            y = target.xy[rng.choice([11, 13, 15])][1] + rng.normal(0, .05) * h
            w = rng.uniform(0.6, 2.) * target.size[0]
            bh = rng.uniform(0.2, 0.5) * h
            x = target.center[0] + rng.normal(0, 0.3) * target.size[0]
            shape = ('poly',
                     np.array([[x - w / 2, y - bh * 0.3],
                               [x + w / 2, y - bh * 0.3],
                               [x + w / 2, y + bh * 0.7],
                               [x - w / 2, y + bh * 0.7]]))
        elif kind == 'pole':
            w = rng.uniform(0.06, 0.22) * h
            x = kpt[0] + rng.normal(0, 0.05) * h
            shape = ('poly',
                     np.array([[x - w / 2, -1.], [x + w / 2, -1.],
                               [x + w / 2, img_h + 1.],
                               [x - w / 2, img_h + 1.]]))
        else:
            shape = _random_shape(rng, kpt + rng.normal(0, 0.08, 2) * h,
                                  rng.uniform(0.15, 0.55) * h)
        out.append((target.scene_depth + rng.uniform(0.02, 0.3), shape))
    return out


def _detections(rng: np.random.Generator, image_id: int,
                people: Sequence[tuple], distractors: List[List[float]],
                img_w: int, img_h: int) -> List[dict]:
    """Person detector output for one image.

    Boxes are jittered around the annotated people (more for small and
    occluded ones), scored from their IoU with the truth and the person's
    visibility plus noise; hard people are missed more often, some are
    detected twice, and background clutter gives low-scored false positives.

    Args:
        people (Sequence[tuple]): (bbox xywh, visible-keypoint share, area)
            of each annotated person.
        distractors (list): xyxy boxes of the person-like clutter.
    """

    def clip_box(x0, y0, x1, y1):
        x0, x1 = np.clip([x0, x1], 0, img_w)
        y0, y1 = np.clip([y0, y1], 0, img_h)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        return [x0, y0, x1, y1]

    def iou(a, b):
        iw = max(0., min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0., min(a[3], b[3]) - max(a[1], b[1]))
        inter = iw * ih
        union = ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) *
                 (b[3] - b[1]) - inter)
        return inter / union if union > 0 else 0.

    def record(box, score):
        return dict(
            image_id=image_id,
            category_id=1,
            bbox=[
                round(float(v), 2)
                for v in (box[0], box[1], box[2] - box[0], box[3] - box[1])
            ],
            score=round(float(np.clip(score, 0.001, 1.)), 4))

    dets = []
    for (x, y, w, h), q, area in people:
        small = area < 32**2
        if rng.random() < 0.02 + 0.3 * (1 - q)**2 + 0.15 * small:
            continue
        gt = [x, y, x + w, y + h]
        for dup in range(1 + (rng.random() < 0.08)):
            sigma = (0.03 + 0.08 * (1 - q) + 0.04 * small) * (1 + dup)
            box = clip_box(*(np.array(gt) +
                             rng.normal(0, sigma, 4) * np.array([w, h, w, h])))
            if box is None:
                continue
            logit = (-4 + 6 * iou(box, gt) + 2.5 * q + rng.normal(0, 0.8) -
                     1.5 * dup)
            dets.append(record(box, 1 / (1 + math.exp(-logit))))
    for _ in range(int(rng.poisson(0.5))):
        if distractors and rng.random() < 0.7:
            d = distractors[rng.integers(len(distractors))]
            cx, cy = (d[0] + d[2]) / 2, (d[1] + d[3]) / 2
            bh = max(d[3] - d[1], d[2] - d[0]) * rng.uniform(1., 1.6)
        else:
            cx, cy = rng.uniform(0, img_w), rng.uniform(0, img_h)
            bh = rng.uniform(0.15, 0.6) * img_h
        bw = bh / rng.uniform(1.5, 3.)
        box = clip_box(cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2)
        if box is not None:
            dets.append(record(box, 1 / (1 + math.exp(-rng.normal(-2.2, 1.)))))
    return dets


def _generate_image(task: Tuple[int, str, int, int, int, str]) -> dict:
    """Draw, label and save one image.

    Args:
        task (tuple): (seed, split, index, width, height, image dir).

    Returns:
        dict: ``image`` (COCO image entry), ``annotations`` and, for the val
        split, ``detections``.
    """
    seed, split, index, img_w, img_h, img_dir = task
    split_id = _SPLIT_IDS[split]
    rng = np.random.default_rng([seed, split_id, index])
    image_id = split_id * _SPLIT_ID_BASE + index + 1

    img, distractors = _background(rng, img_w, img_h)
    people = _place_people(rng, img_w, img_h)
    layers = [(p.scene_depth, 0, i) for i, p in enumerate(people)]
    occluders = _occluders(rng, people, img_w, img_h)
    layers += [(d, 1, i) for i, (d, _) in enumerate(occluders)]
    owner = np.zeros((img_h, img_w), dtype=np.uint16)
    ranks = {}
    for layer, (_, is_occluder, i) in enumerate(sorted(layers)):
        if is_occluder:
            _paint_textured(rng, img, owner, (layer + 1) << _PART_BITS,
                            occluders[i][1])
        else:
            people[i].layer = layer
            ranks[i] = people[i].draw(img, owner)

    layer_map = owner >> _PART_BITS
    annotations, det_people = [], []
    for i, person in enumerate(people):
        vis = person.label(rng, owner, ranks[i])
        sil = layer_map == person.layer + 1
        area = int(sil.sum())
        if area < _MIN_ANNOTATED_AREA:
            continue
        labelled = vis > 0
        kpts = np.round(person.xy[:17], 2)
        cols = np.flatnonzero(sil.any(0))
        rows = np.flatnonzero(sil.any(1))
        # The visible silhouette's box, grown to hold occluded keypoints that
        # an annotator placed (COCO boxes hold the labelled keypoints too).
        x0, y0 = float(cols[0]), float(rows[0])
        x1, y1 = float(cols[-1] + 1), float(rows[-1] + 1)
        if labelled.any():
            x0 = min(x0, math.floor(kpts[labelled, 0].min()))
            y0 = min(y0, math.floor(kpts[labelled, 1].min()))
            x1 = max(x1, math.ceil(kpts[labelled, 0].max()))
            y1 = max(y1, math.ceil(kpts[labelled, 1].max()))
        bbox = [x0, y0, min(float(img_w), x1) - x0, min(float(img_h), y1) - y0]
        keypoints = []
        for k in range(17):
            keypoints += ([float(kpts[k, 0]),
                           float(kpts[k, 1]),
                           int(vis[k])] if vis[k] else [0, 0, 0])
        annotations.append(
            dict(
                id=image_id * _MAX_PEOPLE_PER_IMAGE + i,
                image_id=image_id,
                category_id=1,
                keypoints=keypoints,
                num_keypoints=int(labelled.sum()),
                area=float(area),
                bbox=bbox,
                iscrowd=0))
        det_people.append((bbox, float((vis == 2).mean()), area))

    img, quality = _degrade(rng, img)
    file_name = f'{image_id:012d}.jpg'
    path = osp.join(img_dir, file_name)
    if not cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise OSError(f'cannot write the image {path}')
    result = dict(
        image=dict(
            id=image_id, file_name=file_name, width=img_w, height=img_h),
        annotations=annotations)
    if split == 'val':
        # A stream of its own, so that the images do not depend on whether
        # detections are made.
        det_rng = np.random.default_rng([seed, split_id, index, 1])
        result['detections'] = _detections(det_rng, image_id, det_people,
                                           distractors, img_w, img_h)
    return result


# Spawned workers, not forked ones: a fork of a process whose OpenCV or torch
# thread pools already ran (a test session, a training script) can deadlock
# in the child (seen here: the workers hung in ``cv2.setNumThreads``).
_START_METHOD = 'spawn'


def _init_worker() -> None:
    # Each worker draws one image at a time; OpenCV's own threads would only
    # compete with the other workers.
    cv2.setNumThreads(1)


def _progress(results: Iterable[dict], total: int, desc: str,
              enabled: bool) -> Iterator[dict]:
    """Iterate with a progress bar (tqdm when installed, else mmengine's)."""
    if not enabled:
        yield from results
        return
    try:
        from tqdm import tqdm
    except ImportError:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(total)
        for result in results:
            bar.update()
            yield result
        return
    yield from tqdm(results, total=total, desc=desc, unit='img')


def _dump_json(obj: object, path: str) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, separators=(',', ':'))


def _paths(out_dir: str) -> Dict[str, str]:
    return dict(
        data_root=out_dir,
        train_img_dir=osp.join(out_dir, 'train'),
        val_img_dir=osp.join(out_dir, 'val'),
        train_ann_file=osp.join(out_dir, 'annotations',
                                'person_keypoints_train.json'),
        val_ann_file=osp.join(out_dir, 'annotations',
                              'person_keypoints_val.json'),
        val_bbox_file=osp.join(out_dir, 'person_detection_results',
                               'detections_val.json'),
        marker_file=osp.join(out_dir, MARKER_FILE))


# What the generator writes directly under ``out_dir``; ``overwrite`` deletes
# these and nothing else.
_OWN_ENTRIES = ('train', 'val', 'annotations', 'person_detection_results',
                MARKER_FILE)


def _prepare_out_dir(out_dir: str, params: dict, overwrite: bool) -> bool:
    """Check (and with ``overwrite`` clear) the output directory.

    Returns:
        bool: True when a complete dataset with these parameters is there.
    """
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise FileExistsError(
            f'the output path {out_dir} exists and is not a directory')
    if osp.isdir(out_dir):
        entries = sorted(os.listdir(out_dir))
        foreign = [e for e in entries if e not in _OWN_ENTRIES]
        marker = osp.join(out_dir, MARKER_FILE)
        if overwrite:
            if foreign:
                raise FileExistsError(
                    f'refusing to overwrite {out_dir}: it holds files the '
                    f'synthetic dataset generator did not write: {foreign}')
            # The marker goes first: an interrupted deletion must not leave a
            # directory that passes for complete.
            for entry in (MARKER_FILE, 'train', 'val', 'annotations',
                          'person_detection_results'):
                path = osp.join(out_dir, entry)
                if osp.isdir(path):
                    shutil.rmtree(path)
                elif osp.exists(path):
                    os.remove(path)
        elif osp.isfile(marker):
            try:
                with open(marker, encoding='utf-8') as f:
                    found = json.load(f)
            except (OSError, ValueError):
                found = None
            if found == params:
                return True
            raise FileExistsError(
                f'{out_dir} holds a synthetic dataset made with other '
                f'parameters ({found} instead of {params}); pass '
                'overwrite=True (--overwrite) to delete it and regenerate')
        elif entries:
            raise FileExistsError(
                f'{out_dir} exists but has no {MARKER_FILE}: it is a '
                'partial (interrupted) dataset or something else; pass '
                'overwrite=True (--overwrite) to delete it and regenerate')
    return False


def generate_synthetic_coco(out_dir: str,
                            num_train: int,
                            num_val: int,
                            seed: int = 0,
                            image_size: Tuple[int, int] = (256, 256),
                            overwrite: bool = False,
                            num_workers: Optional[int] = None,
                            progress: bool = True) -> Dict[str, str]:
    """Write the synthetic COCO-format person-keypoint dataset.

    Layout under ``out_dir``::

        train/*.jpg, val/*.jpg
        annotations/person_keypoints_{train,val}.json   (COCO keypoints)
        person_detection_results/detections_val.json    (COCO results)
        .complete.json                                   (written last)

    The same arguments give byte-identical files (with the same OpenCV
    build, whose JPEG encoder writes the images), however many workers make
    them. A complete dataset made with the same parameters is kept as it is
    (logged as present and skipped); any other non-empty directory is an
    error unless ``overwrite`` is set, which first deletes the old dataset
    so that old and new data never mix.

    Args:
        out_dir (str): The dataset root.
        num_train (int): Number of training images.
        num_val (int): Number of validation images.
        seed (int): Random seed. Defaults to 0.
        image_size (tuple[int, int]): Image (width, height). Defaults to
            (256, 256).
        overwrite (bool): Delete an existing dataset in ``out_dir`` first.
            Defaults to False.
        num_workers (int, optional): Worker processes; 0 draws in this
            process. The data does not depend on it. Defaults to the number
            of CPUs (at most 8).
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        dict[str, str]: Paths: ``data_root``, ``train_img_dir``,
        ``val_img_dir``, ``train_ann_file``, ``val_ann_file``,
        ``val_bbox_file`` and ``marker_file``.
    """
    img_w, img_h = (int(v) for v in image_size)
    if min(img_w, img_h) < 32:
        raise ValueError(f'image_size must be at least 32x32, got '
                         f'{tuple(image_size)}')
    if not (0 <= int(num_train) < _SPLIT_ID_BASE
            and 0 <= int(num_val) < _SPLIT_ID_BASE):
        raise ValueError(f'num_train and num_val must be in [0, '
                         f'{_SPLIT_ID_BASE}), got {num_train} and {num_val}')
    if int(seed) < 0:
        raise ValueError(f'seed must be >= 0, got {seed}')
    out_dir = osp.abspath(out_dir)
    params = dict(
        generator='oksnet_mmpose.datasets.synthetic_people',
        version=GENERATOR_VERSION,
        seed=int(seed),
        num_train=int(num_train),
        num_val=int(num_val),
        image_size=[img_w, img_h])
    paths = _paths(out_dir)
    if _prepare_out_dir(out_dir, params, overwrite):
        print_log(
            f'{out_dir}: synthetic dataset present, skipping',
            logger='current')
        return paths

    try:
        for d in (paths['train_img_dir'], paths['val_img_dir'],
                  osp.dirname(paths['train_ann_file']),
                  osp.dirname(paths['val_bbox_file'])):
            os.makedirs(d, exist_ok=True)
        # Fail here, naming the directory, rather than in a worker.
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as err:
        raise OSError(f'cannot write the synthetic dataset to {out_dir}: '
                      f'{err}') from err

    if num_workers is None:
        num_workers = min(8, os.cpu_count() or 1)
    with contextlib.ExitStack() as stack:
        pool = None
        if num_workers > 0 and num_train + num_val > 1:
            pool = stack.enter_context(
                multiprocessing.get_context(_START_METHOD).Pool(
                    num_workers, initializer=_init_worker))
        for split, num in (('train', num_train), ('val', num_val)):
            tasks = [(int(seed), split, i, img_w, img_h,
                      paths[f'{split}_img_dir']) for i in range(num)]
            # ``imap`` keeps the task order, so the files do not depend on
            # which worker finishes first.
            results = (
                pool.imap(_generate_image, tasks, chunksize=8)
                if pool is not None else map(_generate_image, tasks))
            images, annotations, detections = [], [], []
            for result in _progress(results, num, f'synthetic {split}',
                                    progress):
                images.append(result['image'])
                annotations += result['annotations']
                detections += result.get('detections', [])
            _dump_json(
                dict(
                    info=dict(
                        description='oksnet_mmpose synthetic people',
                        version=GENERATOR_VERSION),
                    licenses=[],
                    images=images,
                    annotations=annotations,
                    categories=[_PERSON_CATEGORY]), paths[f'{split}_ann_file'])
            if split == 'val':
                _dump_json(detections, paths['val_bbox_file'])
    _dump_json(params, paths['marker_file'])
    print_log(
        f'synthetic dataset written to {out_dir} ({num_train} train and '
        f'{num_val} val images)',
        logger='current')
    return paths
