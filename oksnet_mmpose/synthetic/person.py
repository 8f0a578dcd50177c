# Copyright (c) oksnet-mmpose contributors.
"""One synthetic person placed in an image: its 2D geometry, appearance,
painting (far to near, into the image and the owner map) and its COCO
visibility labels read from the owner map."""
import math
from typing import Dict, List, Tuple

import cv2
import numpy as np

from .body_model import (P_HEAD, P_L_HAND_END, P_L_TOE, P_MOUTH, P_NECK,
                         P_TORSO_HULL, person_3d, rx, ry, sample_pose)
from .profiles import SyntheticProfile
from .rendering import ONE, SHIFT, SKIN_TONES, paint_part, pt

# Body part ids. They are the low 5 bits of an owner-map id, the drawing
# layer (background 0, then people and occluders far to near) the high bits.
(_TORSO, _NECK, _HEAD, _L_EAR, _R_EAR, _L_UPPER_ARM, _R_UPPER_ARM, _L_FOREARM,
 _R_FOREARM, _L_HAND, _R_HAND, _L_THIGH, _R_THIGH, _L_SHIN, _R_SHIN, _L_FOOT,
 _R_FOOT) = range(17)
PART_BITS = 5

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

_HAIR_COLOURS = np.array([[20, 20, 25], [30, 45, 70], [40, 70, 110],
                          [90, 140, 190], [150, 150, 155], [60, 60, 60]],
                         dtype=np.float64)


def _sample_appearance(rng: np.random.Generator) -> Dict[str, object]:
    """Colours (BGR) and clothing of one person."""
    light = rng.uniform(0.65, 1.1)
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.92, 1.08)
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


class Person:
    """One figure placed in the image: its 2D geometry, depths and parts.

    Args:
        rng (np.random.Generator): The image's RNG.
        height (float): Standing height in pixels.
        profile (SyntheticProfile): Views, roll and postures.
    """

    def __init__(self, rng: np.random.Generator, height: float,
                 profile: SyntheticProfile) -> None:
        # Views: frontal and 3/4 the most common, then side and back.
        if rng.random() < profile.frontal_p:
            yaw = rng.normal(0, 20)
        else:
            yaw = rng.uniform(-180, 180)
        view = rx(rng.normal(0, 6)) @ ry(yaw)
        body = person_3d(rng, sample_pose(rng, profile.pose_kind_p), view)
        roll = rng.normal(
            0, 6) if rng.random() > profile.any_roll_p else rng.uniform(
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
        hull = xy[P_TORSO_HULL:].astype(np.float32)
        hull = cv2.convexHull(hull)[:, 0].astype(np.float64)

        torso_z = z[P_TORSO_HULL:].mean()
        neck = ('capsule', xy[P_NECK], xy[P_HEAD], 0.028 * h, 0.028 * h)
        parts = [
            (torso_z, _TORSO, [('poly', hull)], app['shirt']),
            # The neck is always behind the head and the torso.
            (min(z[P_NECK], z[P_HEAD], torso_z) - 0.01, _NECK, [neck],
             app['skin']),
            (z[P_HEAD], _HEAD, [('circle', xy[P_HEAD], 0.065 * h)],
             app['hair']),
        ]
        for kpt, part in ((3, _L_EAR), (4, _R_EAR)):
            parts.append((z[kpt], part, [('circle', xy[kpt], 0.018 * h)],
                          app['skin'] * 0.9))
        limb_specs = (
            # left part, from, to, radius from, radius to, colour
            (_L_UPPER_ARM, 5, 7, .032, .026, app['shirt']),
            (_L_FOREARM, 7, 9, .025, .019, sleeve),
            (_L_HAND, 9, P_L_HAND_END, .021, .017, app['skin']),
            (_L_THIGH, 11, 13, .05, .035, app['pants']),
            (_L_SHIN, 13, 15, .034, .024, shin_col),
            (_L_FOOT, 15, P_L_TOE, .022, .018, app['shoes']),
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
                centre = xy[P_HEAD] + 0.3 * 0.065 * h * self._to_plane(
                    fwd) + self._to_plane(np.array([0., -0.008 * h, 0.]))
                radius = 0.065 * h * (0.55 + 0.3 * min(1., facing + 0.3))
                cv2.circle(img, pt(centre), max(1, int(radius * ONE)),
                           tuple(app['skin'].tolist()), -1, cv2.LINE_AA, SHIFT)
            normals = self.body['face_normals']
            dark = (30., 30., 40.)
            for k in (1, 2):
                if normals[k, 2] > 0.1:
                    cv2.circle(img, pt(xy[k]),
                               max(ONE // 2, int(0.009 * h * ONE)), dark, -1,
                               cv2.LINE_AA, SHIFT)
            if normals[0, 2] > 0.:
                cv2.circle(img, pt(xy[0]), max(ONE // 2, int(0.008 * h * ONE)),
                           tuple((app['skin'] * 0.7).tolist()), -1,
                           cv2.LINE_AA, SHIFT)
                if normals[0, 2] > 0.3:
                    cv2.circle(img, pt(xy[P_MOUTH]),
                               max(ONE // 2, int(0.007 * h * ONE)),
                               (60., 60., 150.), -1, cv2.LINE_AA, SHIFT)
        elif part in (_L_FOREARM, _R_FOREARM):
            elbow = 7 if part == _L_FOREARM else 8
            self._joint_cap(img, elbow, 0.013 * h, colour)
            if part == _L_FOREARM and app['watch']:
                watch = xy[9] + 0.18 * (xy[7] - xy[9])
                cv2.circle(img, pt(watch), max(ONE // 2, int(0.016 * h * ONE)),
                           (40., 40., 40.), -1, cv2.LINE_AA, SHIFT)
        elif part in (_L_SHIN, _R_SHIN):
            self._joint_cap(img, 13 if part == _L_SHIN else 14, 0.017 * h,
                            colour)

    def _joint_cap(self, img: np.ndarray, kpt: int, radius: float,
                   colour: np.ndarray) -> None:
        cv2.circle(img, pt(self.xy[kpt]), max(ONE // 2, int(radius * ONE)),
                   tuple((colour * 0.8).tolist()), -1, cv2.LINE_AA, SHIFT)

    def draw(self, img: np.ndarray, owner: np.ndarray) -> Dict[int, int]:
        """Paint the person far to near; returns the paint order of each
        part, which decides whether a part covers a keypoint."""
        outline = max(0.6, self.height / 180.)
        ranks = {}
        for rank, (_, part, prims, colour) in enumerate(
                sorted(self.parts(), key=lambda p: (p[0], p[1]))):
            paint_part(img, owner, prims, colour,
                       ((self.layer + 1) << PART_BITS) | part, outline)
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
            layer, part = win >> PART_BITS, win & ((1 << PART_BITS) - 1)
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
