# Copyright (c) oksnet-mmpose contributors.
"""The body model of the synthetic people: a 3D stick skeleton in COCO
keypoint order with human proportions, joint limits, torso lean and twist
and head turn, posed by :func:`sample_pose` and built by :func:`person_3d`.
"""
import math
from typing import Dict, Sequence, Tuple

import numpy as np


def rx(deg: float) -> np.ndarray:
    """Rotation about x (the person's left); positive tips +y towards +z."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1., 0., 0.], [0., c, -s], [0., s, c]])


def ry(deg: float) -> np.ndarray:
    """Rotation about y (up); positive turns +z (forward) towards +x."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0., s], [0., 1., 0.], [-s, 0., c]])


def rz(deg: float) -> np.ndarray:
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
    base = rz(abduct) @ rx(-flex)
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


def sample_pose(rng: np.random.Generator,
                kind_p: Sequence[float]) -> Dict[str, object]:
    """Joint angles (degrees) of a random but plausible body posture.

    Legs and arms are (flex, abduct, bend, twist) as taken by :func:`_limb`
    (knees bend with a negative angle), left first.

    Args:
        rng (np.random.Generator): The image's RNG.
        kind_p (Sequence[float]): Probabilities of the postures 'stand',
            'walk', 'sit', 'bend', 'squat' and 'free' (the profile's
            ``pose_kind_p``).
    """
    u, n = rng.uniform, rng.normal
    kind = rng.choice(['stand', 'walk', 'sit', 'bend', 'squat', 'free'],
                      p=kind_p)
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

    return dict(torso=(pitch, roll, twist),
                head=(n(0, 25), n(5, 15), n(0, 8)),
                legs=legs,
                arms=arms)


# Rows of the point array of a person: the 17 keypoints, then these.
(P_NECK, P_HEAD, P_L_HAND_END, P_R_HAND_END, P_L_TOE, P_R_TOE,
 P_MOUTH) = range(17, 24)
P_TORSO_HULL = 24  # first of the torso outline points

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


def person_3d(rng: np.random.Generator, pose: Dict[str, object],
              view: np.ndarray) -> Dict[str, np.ndarray]:
    """3D points of one person of unit height, in the camera frame.

    Args:
        rng (np.random.Generator): For the body proportions.
        pose (dict): Joint angles from :func:`sample_pose`.
        view (np.ndarray): Rotation (3, 3) from the body frame to the camera
            frame (x right, y up, z towards the camera).

    Returns:
        dict[str, np.ndarray]: ``points`` (N, 3) (rows: the 17 keypoints, then
        the ``P_NECK``... extras and the torso outline), ``face_normals``
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
    torso_rot = ry(pose['torso'][2]) @ rz(pose['torso'][1]) @ rx(
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
    head_rot = torso_rot @ ry(head_yaw) @ rx(head_pitch) @ rz(head_roll)
    head = neck + torso_rot @ rx(0.4 * head_pitch) @ np.array([0., .105, 0.])
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
    return dict(points=points @ view.T,
                face_normals=face_normals @ view.T,
                head_forward=view @ head_rot @ np.array([0., 0., 1.]),
                torso_left=view @ torso_rot @ np.array([1., 0., 0.]),
                pelvis_left=view @ np.array([1., 0., 0.]))
