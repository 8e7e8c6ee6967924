"""A synthetic corpus closer to real signing: skin-coloured hands on a body, signers never seen in training.

Still not real signing, but every shortcut of the simple corpus (`isltk.synth.simple`) is gone:
- Hands are in the signer's skin colour. A sign is told apart only by its **hand shape** (fist,
  flat, point, V, thumb, spread, C, O, Y), its **location/height** (forehead, chin, chest, waist,
  side), its **movement** (held, up, down, outward, circle, tap) and whether **one or two hands**
  move. Several signs share all but one of those.
- Signs are joined by transitional movements; the non-dominant hand rests at the waist when idle.
- Greetings are **held still** for the whole clip: only the hand shape and its place say which.
- Sentences have 1 to 9 signs in ISL order (TIME SUBJECT PLACE OBJECT ADJ ADJ VERB NOT QUESTION);
  the English has tense, negation, do-support questions and articles ("Did she not buy the big
  red ball at the market yesterday?").
- Signers differ in skin tone, clothing, background texture, scale, position and signing speed, each
  framed as corpora are (the whole signing space, raised fingertips included, in the frame's centre);
  the val and test splits are signed by **signers never seen in training**, and their sentences
  hold (object, verb) / (subject, verb) pairs that never occur in training.

The `gloss` column of the CSV gives the signs in order, as gloss-annotated corpora do.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from isltk.data.keypoints import BODY_POINTS, SUFFIX, holistic_pose, write_pose
from isltk.synth.detector import as_detected
from isltk.synth.encode import write_video_opencv
from isltk.synth.simple import write_corpus

HANDSHAPES = ("fist", "flat", "point", "v", "thumb", "spread", "c", "o", "y")
LOCATIONS = {"forehead": (0.0, -1.55), "chin": (0.0, -0.95), "chest": (0.0, -0.2), "waist": (0.0, 0.45), "side": (0.75, -0.3)}
MOVEMENTS = ("hold", "up", "down", "out", "circle", "tap")

GREETINGS = {"HELLO": "Hello.", "THANK-YOU": "Thank you.", "SORRY": "Sorry.", "PLEASE": "Please.",
             "GOOD-MORNING": "Good morning.", "BYE": "Goodbye."}
TIMES = {"YESTERDAY": "past", "TOMORROW": "future", "TODAY": "present"}
SUBJECTS = {"I": ("I", 1), "YOU": ("you", 2), "HE": ("he", 3), "SHE": ("she", 3), "WE": ("we", 1), "THEY": ("they", 1)}
PLACES = {"HOME": "at home", "SCHOOL": "at school", "MARKET": "at the market"}
OBJECTS = {"WATER": "water", "FOOD": "food", "BOOK": "book", "BALL": "ball", "APPLE": "apple", "TEA": "tea",
           "BAG": "bag", "LETTER": "letter"}
SIZE_ADJECTIVES = ("BIG", "SMALL", "OLD")
COLOUR_ADJECTIVES = ("RED", "WHITE", "NEW")
TRANSITIVE = {"EAT": ("eat", "eats", "ate"), "DRINK": ("drink", "drinks", "drank"), "READ": ("read", "reads", "read"),
              "WANT": ("want", "wants", "wanted"), "LIKE": ("like", "likes", "liked"), "SEE": ("see", "sees", "saw"),
              "BUY": ("buy", "buys", "bought"), "WRITE": ("write", "writes", "wrote")}
INTRANSITIVE = {"SLEEP": ("sleep", "sleeps", "slept"), "WORK": ("work", "works", "worked"), "PLAY": ("play", "plays", "played")}
NEGATION, QUESTION = "NOT", "QUESTION"
GLOSSES = (list(GREETINGS) + list(TIMES) + list(SUBJECTS) + list(PLACES) + list(OBJECTS) + list(SIZE_ADJECTIVES)
           + list(COLOUR_ADJECTIVES) + list(TRANSITIVE) + list(INTRANSITIVE) + [NEGATION, QUESTION])
SKIN_TONES = [(241, 194, 167), (224, 172, 138), (198, 134, 99), (172, 112, 78), (141, 85, 54), (110, 66, 44), (232, 185, 150)]
SIZES = [(160, 120), (144, 144), (176, 132)]  # (width, height)
FPS = 25.0


@dataclass(frozen=True)
class Sign:
    handshape: str
    location: str
    movement: str
    two_handed: bool


def lexicon() -> dict[str, Sign]:
    """Every gloss gets a distinct (hand shape, location, movement, hands); greetings are held still.

    Drawn from a fixed seed so that every corpus (and every held-out corpus made with this module)
    uses the same signs; many signs differ from another in one attribute only.
    """
    rng = random.Random(1234)
    used: set[Sign] = set()
    table: dict[str, Sign] = {}
    for gloss in GLOSSES:
        while True:
            movement = "hold" if gloss in GREETINGS else rng.choice(MOVEMENTS[1:])
            location = rng.choice([loc for loc in LOCATIONS if not (movement == "up" and loc == "forehead")])
            sign = Sign(rng.choice(HANDSHAPES), location, movement, rng.random() < 0.3)
            if sign not in used:
                break
        used.add(sign)
        table[gloss] = sign
    return table


# -- sentences -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sentence:
    glosses: tuple[str, ...]
    english: str


def english_sentence(time: str | None, subject: str, place: str | None, obj: str | None, adjectives: tuple[str, ...],
                     verb: str, negated: bool, question: bool) -> str:
    word, person = SUBJECTS[subject]
    base, third, past = (TRANSITIVE | INTRANSITIVE)[verb]
    tense = TIMES[time] if time else "present"
    if question:
        auxiliary = {"past": "did", "future": "will", "present": "does" if person == 3 else "do"}[tense]
        words = [auxiliary.capitalize(), word] + (["not"] if negated else []) + [base]
    elif negated:
        auxiliary = {"past": "did", "future": "will", "present": "does" if person == 3 else "do"}[tense]
        words = [word, auxiliary, "not", base]
    else:
        words = [word, {"past": past, "future": f"will {base}", "present": third if person == 3 else base}[tense]]
    if obj:
        words += ["the", *(a.lower() for a in adjectives), OBJECTS[obj]]
    if place:
        words.append(PLACES[place])
    if time and question:
        words.append(time.lower())
    elif time:
        words.insert(0, time.lower() + ",")
    text = " ".join(words)
    return text[0].upper() + text[1:] + ("?" if question else ".")


GREETING_SHARE = 0.15  # of the clips in every split


def random_sentence(rng: random.Random, greeting_share: float = GREETING_SHARE) -> Sentence:
    """A greeting, or a (time) subject (place) (object adjectives) verb (not) (question) sentence."""
    if rng.random() < greeting_share:
        gloss = rng.choice(list(GREETINGS))
        return Sentence((gloss,), GREETINGS[gloss])
    time = rng.choice(list(TIMES)) if rng.random() < 0.5 else None
    subject = rng.choice(list(SUBJECTS))
    place = rng.choice(list(PLACES)) if rng.random() < 0.35 else None
    transitive = rng.random() < 0.75
    obj, adjectives = None, ()
    if transitive:
        verb, obj = rng.choice(list(TRANSITIVE)), rng.choice(list(OBJECTS))
        adjectives = tuple(a for a, p in ((rng.choice(SIZE_ADJECTIVES), 0.4), (rng.choice(COLOUR_ADJECTIVES), 0.4)) if rng.random() < p)
    else:
        verb = rng.choice(list(INTRANSITIVE))
    negated, question = rng.random() < 0.3, rng.random() < 0.3
    glosses = [g for g in (time, subject, place, obj, *adjectives, verb) if g]
    glosses += [NEGATION] * negated + [QUESTION] * question
    return Sentence(tuple(glosses), english_sentence(time, subject, place, obj, adjectives, verb, negated, question))


def held_out_pairs(seed: int, fraction: float = 0.15) -> set[tuple[str, str]]:
    """(object, verb) and (subject, verb) pairs reserved for val/test sentences."""
    pairs = list(itertools.product(OBJECTS, TRANSITIVE)) + list(itertools.product(SUBJECTS, INTRANSITIVE))
    rng = random.Random(seed)
    return set(rng.sample(pairs, int(len(pairs) * fraction)))


def sentence_pairs(sentence: Sentence) -> set[tuple[str, str]]:
    glosses = set(sentence.glosses)
    verbs = glosses & (set(TRANSITIVE) | set(INTRANSITIVE))
    nouns = glosses & (set(OBJECTS) | set(SUBJECTS))
    return {(noun, verb) for noun in nouns for verb in verbs}


# -- signers -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Signer:
    skin: tuple[int, int, int]
    clothing: tuple[int, int, int]
    background: tuple[int, int, int]
    texture: str  # "plain" | "stripes" | "checks" | "gradient" | "noise"
    scale: float  # body size relative to the frame
    offset: tuple[float, float]
    speed: float  # >1 signs faster
    size: tuple[int, int]


# The signing space in signer units about the body centre (x towards either side, y down): the highest a
# hand reaches (forehead, moved up, fingertips, pose jitter), the lowest a sign goes (a circle at the waist),
# the widest (a spread hand moved outward at the side).
SPACE_TOP, SPACE_BOTTOM, SPACE_HALF_WIDTH = 2.5, 1.35, 1.65
UNIT_PER_SIDE = 0.27  # signer unit (shoulder to chin, about) per side of the frame's central square at scale 1
MARGIN = 0.015  # of the frame's side: space between the signing space and the frame's edge


def make_signer(seed: int) -> Signer:
    """A signer framed as sign-language corpora are: the whole signing space, from fingertips raised above the
    forehead to a circle at the waist, inside the frame's central square (what `prepare`'s crop keeps).
    Signers differ in size and in where they stand within that constraint. (Before, half the training signers
    held their forehead signs partly above the frame: their SORRY and GOOD-MORNING looked alike.)"""
    rng = random.Random(seed * 7919 + 17)
    tone = rng.choice(SKIN_TONES)
    skin = tuple(int(np.clip(c + rng.randint(-12, 12), 0, 255)) for c in tone)
    clothing = tuple(rng.randint(20, 200) for _ in range(3))
    background = tuple(rng.randint(40, 220) for _ in range(3))
    texture = rng.choice(["plain", "stripes", "checks", "gradient", "noise"])
    scale, place_x, place_y = rng.uniform(0.76, 0.92), rng.random(), rng.random()
    speed, size = rng.uniform(0.8, 1.25), rng.choice(SIZES)
    width, height = size
    side = min(width, height)
    unit = side * UNIT_PER_SIDE * scale
    # Where the body centre may stand (pixels) so that the signing space stays inside the central square.
    left, top = (width - side) / 2 + MARGIN * side, (height - side) / 2 + MARGIN * side
    x_range = (left + SPACE_HALF_WIDTH * unit, left + side * (1 - 2 * MARGIN) - SPACE_HALF_WIDTH * unit)
    y_range = (top + SPACE_TOP * unit, top + side * (1 - 2 * MARGIN) - SPACE_BOTTOM * unit)
    if x_range[0] > x_range[1] or y_range[0] > y_range[1]:
        raise AssertionError(f"signer {seed}: scale {scale:.2f} leaves no room for the signing space")  # a bug, not input
    centre_x = x_range[0] + place_x * (x_range[1] - x_range[0])
    centre_y = y_range[0] + place_y * (y_range[1] - y_range[0])
    return Signer(skin, clothing, background, texture, scale,  # type: ignore[arg-type]
                  (centre_x / width - 0.5, centre_y / height - 0.56), speed, size)


def _backdrop(signer: Signer, rng: np.random.Generator) -> np.ndarray:
    width, height = signer.size
    canvas = np.empty((height, width, 3), np.float32)
    canvas[:] = signer.background
    if signer.texture == "stripes":
        canvas[:, (np.arange(width) // 8) % 2 == 1] *= 0.8
    elif signer.texture == "checks":
        checks = ((np.arange(height)[:, None] // 10 + np.arange(width)[None, :] // 10) % 2).astype(bool)
        canvas[checks] *= 0.82
    elif signer.texture == "gradient":
        canvas *= np.linspace(0.7, 1.15, width)[None, :, None]
    elif signer.texture == "noise":
        canvas *= cv2.resize(rng.uniform(0.75, 1.15, (height // 6, width // 6)), (width, height))[..., None]
    return np.clip(canvas, 0, 255).astype(np.uint8)


class Body:
    """The signer's fixed parts, and the mapping from signer-relative to pixel coordinates."""

    def __init__(self, signer: Signer, rng: np.random.Generator) -> None:
        width, height = signer.size
        self.unit = min(width, height) * UNIT_PER_SIDE * signer.scale
        self.centre = (width * (0.5 + signer.offset[0]), height * (0.56 + signer.offset[1]))
        self.hand = self.unit * 0.25  # palm radius: a hand with fingers is ~20% of head-to-waist, as in real framing
        self.skin = signer.skin
        self.outline = tuple(int(c * 0.6) for c in signer.skin)
        image = _backdrop(signer, rng)
        cx, cy, u = self.centre[0], self.centre[1], self.unit
        torso = np.array([(cx - 0.95 * u, cy - 0.55 * u), (cx + 0.95 * u, cy - 0.55 * u), (cx + 1.2 * u, height + 5),
                          (cx - 1.2 * u, height + 5)], np.int32)
        cv2.fillPoly(image, [torso], signer.clothing, cv2.LINE_AA)
        cv2.rectangle(image, (int(cx - 0.18 * u), int(cy - 0.9 * u)), (int(cx + 0.18 * u), int(cy - 0.5 * u)), self.skin, -1)
        cv2.ellipse(image, (int(cx), int(cy - 1.25 * u)), (int(0.42 * u), int(0.52 * u)), 0, 0, 360, self.skin, -1, cv2.LINE_AA)
        eye_y = int(cy - 1.3 * u)
        for side in (-1, 1):
            cv2.circle(image, (int(cx + side * 0.16 * u), eye_y), max(1, int(0.05 * u)), (40, 30, 30), -1)
        self.image = image

    def point(self, x: float, y: float) -> tuple[float, float]:
        return self.centre[0] + x * self.unit, self.centre[1] + y * self.unit


# The extended fingers of each hand shape: (finger, tip offset (dx, dy) in palm radii from the palm centre).
EXTENDED = {
    "flat": (("index", (-0.45, -1.9)), ("middle", (-0.15, -2.05)), ("ring", (0.15, -2.05)), ("pinky", (0.45, -1.9))),
    "point": (("index", (-0.2, -2.1)),),
    "v": (("index", (-0.75, -1.9)), ("middle", (0.45, -1.9))),
    "thumb": (("thumb", (-1.0, -1.3)),),
    "spread": (("thumb", (-1.3, -0.7)), ("index", (-0.8, -1.8)), ("middle", (-0.1, -2.1)), ("ring", (0.55, -1.9)),
               ("pinky", (1.05, -1.4))),
    "y": (("thumb", (-1.3, -0.6)), ("pinky", (1.0, -1.6))),
}
FINGERS = ("thumb", "index", "middle", "ring", "pinky")  # MediaPipe's order: 4 points each after the wrist
FOLDED_AT = {"thumb": -0.8, "index": -0.45, "middle": -0.15, "ring": 0.15, "pinky": 0.45}  # a curled finger's dx


def draw_hand(image: np.ndarray, centre: tuple[float, float], size: float, handshape: str, mirrored: bool,
              skin: tuple[int, ...], outline: tuple[int, ...]) -> None:
    """A hand seen palm-forward, fingers up: a palm plus the fingers the hand shape extends."""
    x, y = centre
    s = size
    sign = -1 if mirrored else 1
    finger = max(1, int(round(s * 0.36)))
    fingers = [tip for _, tip in EXTENDED.get(handshape, ())]
    for dx, dy in fingers:
        tip = (int(x + sign * dx * s), int(y + dy * s))
        cv2.line(image, (int(x + sign * dx * s * 0.3), int(y)), tip, outline, finger + 2, cv2.LINE_AA)
        cv2.line(image, (int(x + sign * dx * s * 0.3), int(y)), tip, skin, finger, cv2.LINE_AA)
    if handshape in ("c", "o"):
        start = 40 if handshape == "c" else 0
        axes = (int(s * 1.05), int(s * 1.2))
        angle = 0 if sign > 0 else 180
        cv2.ellipse(image, (int(x), int(y)), axes, angle, start, 360 - start, outline, finger + 3, cv2.LINE_AA)
        cv2.ellipse(image, (int(x), int(y)), axes, angle, start, 360 - start, skin, finger + 1, cv2.LINE_AA)
        return
    cv2.circle(image, (int(x), int(y)), int(s) + 1, outline, -1, cv2.LINE_AA)
    cv2.circle(image, (int(x), int(y)), int(s), skin, -1, cv2.LINE_AA)


def hand_keypoints(centre: tuple[float, float], size: float, handshape: str, mirrored: bool) -> np.ndarray:
    """The 21 MediaPipe hand points (wrist, then thumb to pinky, base to tip) of the hand `draw_hand` draws, in pixels:
    an extended finger's joints along its drawn line, a curled one folded onto the palm, the C and O shapes' on
    their arc. Ground truth for the corpus's keypoints, as a hand tracker would report them."""
    x, y = centre
    s, sign = size, -1 if mirrored else 1
    points = [(x, y + 0.9 * s)]  # the wrist, below the palm
    extended = dict(EXTENDED.get(handshape, ()))
    for index, name in enumerate(FINGERS):
        if handshape in ("c", "o"):  # fingers along the curve, from its lower end to its top
            start = np.radians(40 if handshape == "c" else 0)
            angles = np.linspace(np.pi / 2 + start, np.pi + 0.25 * index, 4) if name == "thumb" else \
                np.linspace(np.pi / 2 + start + 0.3 * index, 1.5 * np.pi, 4)
            points += [(x - sign * 1.05 * s * np.cos(a), y + 1.2 * s * np.sin(-a)) for a in angles]
        elif name in extended:
            dx, dy = extended[name]
            base = (x + sign * dx * s * 0.3, y)
            tip = (x + sign * dx * s, y + dy * s)
            points += [(base[0] + t * (tip[0] - base[0]), base[1] + t * (tip[1] - base[1])) for t in (0.0, 0.4, 0.7, 1.0)]
        else:  # curled into the palm: knuckle high, tip folded back down
            dx = FOLDED_AT[name]
            points += [(x + sign * dx * s, y + dy * s) for dy in (-0.6, -0.85, -0.6, -0.35)]
    return np.asarray(points, np.float32)


def body_keypoints(body: Body, right_hand: np.ndarray, left_hand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe's 33 body points (x, y in pixels) and their confidence: the head, shoulders and hips the signer is
    drawn with, elbows between shoulder and wrist, the hands' points where the pose model has them; legs out of view.
    Right is the signer's right (the image's left), as MediaPipe names them."""
    cx, cy, u = body.centre[0], body.centre[1], body.unit
    width, height = body.image.shape[1], body.image.shape[0]
    named = {"NOSE": (cx, cy - 1.2 * u), "MOUTH_LEFT": (cx + 0.12 * u, cy - 1.02 * u), "MOUTH_RIGHT": (cx - 0.12 * u, cy - 1.02 * u),
             "LEFT_EAR": (cx + 0.42 * u, cy - 1.25 * u), "RIGHT_EAR": (cx - 0.42 * u, cy - 1.25 * u),
             "LEFT_SHOULDER": (cx + 0.95 * u, cy - 0.55 * u), "RIGHT_SHOULDER": (cx - 0.95 * u, cy - 0.55 * u),
             "LEFT_HIP": (cx + 0.6 * u, cy + 1.1 * u), "RIGHT_HIP": (cx - 0.6 * u, cy + 1.1 * u)}
    for side, offset in (("LEFT", 1), ("RIGHT", -1)):
        for part, dx in (("EYE_INNER", 0.1), ("EYE", 0.16), ("EYE_OUTER", 0.22)):
            named[f"{side}_{part}"] = (cx + offset * dx * u, cy - 1.3 * u)
    for side, hand in (("LEFT", left_hand), ("RIGHT", right_hand)):
        shoulder = named[f"{side}_SHOULDER"]
        wrist = hand[0]
        outward = 0.3 * u if side == "LEFT" else -0.3 * u
        named[f"{side}_ELBOW"] = ((shoulder[0] + wrist[0]) / 2 + outward, (shoulder[1] + wrist[1]) / 2 + 0.35 * u)
        named[f"{side}_WRIST"] = tuple(wrist)
        named[f"{side}_PINKY"], named[f"{side}_INDEX"], named[f"{side}_THUMB"] = tuple(hand[17]), tuple(hand[5]), tuple(hand[4])
    points = np.zeros((len(BODY_POINTS), 2), np.float32)
    confidence = np.zeros(len(BODY_POINTS), np.float32)
    for name, (px, py) in named.items():
        index = BODY_POINTS.index(name)
        points[index] = (px, py)
        confidence[index] = 1.0 if 0 <= px < width and 0 <= py < height else 0.0
    return points, confidence


def movement_offset(movement: str, t: float) -> tuple[float, float]:
    """Signer-relative displacement at phase t in [0, 1] of a sign's movement."""
    if movement == "up":
        return 0.0, 0.35 - 0.7 * t
    if movement == "down":
        return 0.0, -0.35 + 0.7 * t
    if movement == "out":
        return -0.2 + 0.7 * t, 0.0
    if movement == "circle":
        return 0.3 * np.sin(2 * np.pi * t), -0.3 * np.cos(2 * np.pi * t) + 0.3
    if movement == "tap":
        return 0.0, 0.15 * abs(np.sin(2 * np.pi * t))
    return 0.0, 0.0


REST = (0.55, 0.95)  # the dominant hand resting low in front of the body; the other hand mirrors it
IDLE = (-REST[0], REST[1])

Pose = tuple[tuple[float, float], str, tuple[float, float], str]  # dominant (x, y), shape; other hand (x, y), shape


def _anchor(sign: Sign) -> tuple[float, float]:
    x, y = LOCATIONS[sign.location]
    return (x + 0.35, y) if sign.two_handed and x == 0.0 else (x, y)  # two hands sit either side of the body


def _sign_pose(sign: Sign, t: float) -> Pose:
    anchor = _anchor(sign)
    dx, dy = movement_offset(sign.movement, t)
    position = (anchor[0] + dx, anchor[1] + dy)
    if sign.two_handed:
        return position, sign.handshape, (-position[0], position[1]), sign.handshape
    return position, sign.handshape, IDLE, "fist"


def hand_track(glosses: tuple[str, ...], table: dict[str, Sign], signer: Signer, rng: random.Random) -> list[Pose]:
    """One pose per frame at 25 fps, in signer-relative units (x towards the dominant side, y down)."""
    def frames_for(seconds: float) -> int:
        return max(1, int(round(seconds / signer.speed * FPS)))

    if len(glosses) == 1 and table[glosses[0]].movement == "hold":  # a greeting: held for the whole clip
        return [_sign_pose(table[glosses[0]], 0.0)] * frames_for(rng.uniform(1.0, 2.0))
    rest: Pose = (REST, "fist", IDLE, "fist")
    poses = [rest] * frames_for(rng.uniform(0.15, 0.35))
    for gloss in [*glosses, None]:
        target = rest if gloss is None else _sign_pose(table[gloss], 0.0)
        previous, steps = poses[-1], frames_for(rng.uniform(0.12, 0.2))
        for i in range(steps):  # transitional movement, already in the next hand shape
            t = 0.5 - 0.5 * np.cos(np.pi * (i + 1) / steps)
            poses.append((_lerp(previous[0], target[0], t), target[1], _lerp(previous[2], target[2], t), target[3]))
        if gloss is not None:
            steps = max(3, frames_for(rng.uniform(0.4, 0.6)))
            poses += [_sign_pose(table[gloss], i / (steps - 1)) for i in range(steps)]
    return poses + [rest] * frames_for(rng.uniform(0.1, 0.3))


def _lerp(a: tuple[float, float], b: tuple[float, float], t: float) -> tuple[float, float]:
    return a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])


def render(glosses: tuple[str, ...], signer: Signer, seed: int, table: dict[str, Sign] | None = None) -> list[np.ndarray]:
    """RGB frames of one clip at 25 fps; the dominant hand is the signer's right (image left)."""
    return render_with_keypoints(glosses, signer, seed, table)[0]


def render_with_keypoints(glosses: tuple[str, ...], signer: Signer, seed: int,
                          table: dict[str, Sign] | None = None) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """`render`'s frames, and per frame the ground-truth keypoints in Holistic's body + left hand + right hand layout:
    (T, 75, 3) pixels (z = 0) and (T, 75) confidence."""
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    body = Body(signer, noise)
    frames, points, confidence = [], [], []
    for (x, y), shape, (ox, oy), other_shape in hand_track(glosses, table or lexicon(), signer, rng):
        frame = body.image.copy()
        jx, jy = noise.normal(0, 0.015, 2)
        left, right = body.point(-ox + jx, oy + jy), body.point(-x + jx, y + jy)  # the signer's left and right hand
        draw_hand(frame, left, body.hand, other_shape, True, body.skin, body.outline)
        draw_hand(frame, right, body.hand, shape, False, body.skin, body.outline)
        grain = noise.normal(0, 4, frame.shape).astype(np.float32)
        frames.append(np.clip(frame.astype(np.float32) + grain, 0, 255).astype(np.uint8))
        left_hand, right_hand = hand_keypoints(left, body.hand, other_shape, True), hand_keypoints(right, body.hand, shape, False)
        body_points, body_confidence = body_keypoints(body, right_hand, left_hand)
        points.append(np.concatenate([body_points, left_hand, right_hand]))
        confidence.append(np.concatenate([body_confidence, np.ones(2 * len(left_hand), np.float32)]))
    xyz = np.concatenate([np.stack(points), np.zeros((len(points), len(points[0]), 1), np.float32)], axis=2)
    return frames, xyz, np.stack(confidence)


# -- corpus --------------------------------------------------------------------------------------------
SIGNERS = {"train": range(0, 12), "val": range(100, 103), "test": range(200, 203)}


def sample_split(split: str, count: int, rng: random.Random, held: set[tuple[str, str]], train_texts: set[str]) -> list[Sentence]:
    """Train sentences avoid the held-out pairs; val/test sentences are never train sentences and,
    except greetings, contain at least one held-out pair. Every split holds GREETING_SHARE greetings: deciding
    first keeps the rejections of other sentences from inflating the greetings' share of val/test."""
    out: list[Sentence] = []
    while len(out) < count:
        if split == "train":
            sentence = random_sentence(rng)
            if sentence_pairs(sentence) & held:
                continue
        else:
            greeting = rng.random() < GREETING_SHARE
            while True:
                sentence = random_sentence(rng, 1.0 if greeting else 0.0)
                if greeting or (sentence.english not in train_texts and sentence_pairs(sentence) & held):
                    break
        out.append(sentence)
    return out


def _render_and_write(job: tuple) -> None:  # type: ignore[type-arg]
    path, glosses, signer_seed, clip_seed, exact_keypoints = job
    signer = make_signer(signer_seed)
    frames, points, confidence = render_with_keypoints(tuple(glosses), signer, clip_seed)
    write_video_opencv(Path(path), frames, FPS)
    if not exact_keypoints:
        points, confidence = as_detected(points, confidence, clip_seed)
    write_pose(Path(path).with_suffix(SUFFIX), holistic_pose(points, confidence, FPS, *signer.size))


def make_signing_corpus(out_dir: Path, train_clips: int = 1200, val_clips: int = 100, test_clips: int = 200, seed: int = 0,
                        workers: int = 1, on_clip: Callable[[], None] | None = None, exact_keypoints: bool = False) -> Path:
    """Write `videos/*.mp4` with each clip's keypoints beside it (`videos/*.pose`, pose-format, Holistic's layout: body
    and hands; as a detector reports them, `isltk.synth.detector`, or the exact drawn points with `exact_keypoints`),
    `sentences.csv` (video,text,split,gloss,signer) and a README; returns the CSV path."""
    video_dir = out_dir / "videos"
    video_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    held = held_out_pairs(seed)
    train = sample_split("train", train_clips, rng, held, set())
    texts = {s.english for s in train}
    sentences = {"train": train, "val": sample_split("val", val_clips, rng, held, texts),
                 "test": sample_split("test", test_clips, rng, held, texts)}
    jobs, rows = [], []
    for split, items in sentences.items():
        signers = list(SIGNERS[split])
        for index, sentence in enumerate(items):
            signer = signers[index % len(signers)]
            name = f"{split}_{index:05d}.mp4"
            jobs.append((str(video_dir / name), sentence.glosses, signer, rng.randrange(2**31), exact_keypoints))
            rows.append({"video": name, "text": sentence.english, "split": split, "gloss": " ".join(sentence.glosses),
                         "signer": f"signer{signer}"})
    csv_path = write_corpus(out_dir, _render_and_write, jobs, rows, workers, on_clip)
    (out_dir / "README.txt").write_text(
        "SYNTHETIC sign corpus made by `isltk synth --style signing` -- not real signing.\n"
        "Skin-coloured hands; signs differ by hand shape, location, movement and hands used; greetings are held\n"
        "still. ISL order TIME SUBJECT PLACE OBJECT ADJ VERB NOT QUESTION; English with tense, negation, questions.\n"
        "val/test: signers never seen in training, (object, verb) and (subject, verb) pairs never seen in training.\n"
        + ("videos/*.pose: the exact drawn keypoints.\n" if exact_keypoints else
           "videos/*.pose: the keypoints as a detector reports them (jittered, hands lost in runs).\n"),
        encoding="utf-8",
    )
    return csv_path
