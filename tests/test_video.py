import subprocess
from pathlib import Path

import numpy as np
import pytest

from isltk.data.video import VideoDecodeError, decode_image_folder, decode_video, fit_frame, pick_frames
from isltk.synth.encode import write_video_ffmpeg, write_video_opencv, write_video_pyav
from tests.conftest import frame_index, make_bad_files, ramp_frames


@pytest.mark.parametrize(("codec", "suffix"), [("libsvtav1", ".mp4"), ("libvpx-vp9", ".webm")])
def test_av1_and_vp9_from_a_real_encoder_decode_to_the_same_frames(video_dir: Path, codec: str, suffix: str) -> None:
    """AV1 (OpenCV's wheel decodes none of it: PyAV's dav1d takes over per file) and VP9, as web video comes."""
    path = video_dir / f"clip{suffix}"
    write_video_pyav(path, ramp_frames(40, 64, 64), 25, codec)
    clip = decode_video(path, 8, 32)
    assert clip.frames.shape == (8, 32, 32, 3) and clip.source_frames == 40
    assert [frame_index(f) for f in clip.frames] == [3, 8, 13, 18, 23, 28, 33, 38]


def test_a_clip_no_backend_decodes_is_rejected_with_its_codec(video_dir: Path) -> None:
    path = video_dir / "web.mp4"
    write_video_pyav(path, ramp_frames(20, 64, 64), 25, "libsvtav1")
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"mdat") + 4])  # the index intact, no frame data
    with pytest.raises(VideoDecodeError, match="codec av1"):
        decode_video(path, 8, 32)


@pytest.mark.parametrize("codec", ["h264", "hevc", "mpeg4", "mjpeg"])
def test_codecs_decode_to_time_uniform_frames(video_dir: Path, codec: str) -> None:
    path = video_dir / f"clip_{codec}.{'avi' if codec == 'mjpeg' else 'mp4'}"
    write_video_ffmpeg(path, ramp_frames(40), 25, codec=codec)
    clip = decode_video(path, 8, 32)
    assert clip.frames.shape == (8, 32, 32, 3) and clip.frames.dtype == np.uint8
    assert clip.source_frames == 40 and clip.fps == pytest.approx(25)
    # centres of 8 equal slices of 40 frames: 2.5, 7.5, ... -> frames 3, 8, 13, ...
    assert [frame_index(f) for f in clip.frames] == [3, 8, 13, 18, 23, 28, 33, 38]


def test_opencv_writer_output_decodes(video_dir: Path) -> None:
    path = video_dir / "cv.mp4"
    write_video_opencv(path, ramp_frames(30), 30)
    assert decode_video(path, 6, 16).frames.shape == (6, 16, 16, 3)


def test_portrait_is_letterboxed_not_cropped(video_dir: Path) -> None:
    path = video_dir / "portrait.mp4"
    frames = [np.full((96, 48, 3), 200, np.uint8) for _ in range(10)]
    write_video_ffmpeg(path, frames, 25)
    clip = decode_video(path, 4, 32)
    assert (clip.width, clip.height) == (48, 96)
    frame = clip.frames[0]
    assert frame[:, :7].max() < 20 and frame[:, -7:].max() < 20  # black side bars
    assert frame[:, 10:22].min() > 150  # the whole picture height is kept


def test_crop_mode_fills_the_square() -> None:
    frame = np.full((96, 48, 3), 200, np.uint8)
    assert fit_frame(frame, 32, "crop").min() > 150


def test_rotation_metadata_is_applied(video_dir: Path) -> None:
    path = video_dir / "phone.mp4"
    write_video_ffmpeg(path, [np.zeros((48, 80, 3), np.uint8)] * 10, 30, rotate_degrees=90)
    clip = decode_video(path, 4, 32)
    assert (clip.width, clip.height) == (48, 80)


def test_variable_frame_rate_is_sampled_uniformly_in_time(video_dir: Path) -> None:
    path = video_dir / "vfr.mp4"
    # 20 quick frames (20 ms) then 20 slow ones (100 ms): 0.4 s + 2.0 s
    write_video_ffmpeg(path, ramp_frames(40), 25, frame_durations_s=[0.02] * 20 + [0.1] * 20)
    clip = decode_video(path, 6, 32)
    assert clip.duration_s == pytest.approx(2.4, abs=0.01)
    picked = [frame_index(f) for f in clip.frames]
    # slice centres 0.2, 0.6, 1.0, 1.4, 1.8, 2.2 s: only the first falls in the quick part
    assert picked == [10, 22, 26, 30, 34, 38]


def test_high_fps_clip(video_dir: Path) -> None:
    path = video_dir / "fast.mp4"
    write_video_ffmpeg(path, ramp_frames(60), 120)
    clip = decode_video(path, 4, 16)
    assert clip.fps == pytest.approx(120) and clip.duration_s == pytest.approx(0.5)


def test_bad_files_raise_with_reasons(video_dir: Path) -> None:
    expected = make_bad_files(video_dir)
    for name, fragment in expected.items():
        with pytest.raises(VideoDecodeError, match=fragment):
            decode_video(video_dir / name, 4, 16)


def test_pick_frames_never_out_of_range() -> None:
    picked = pick_frames(np.arange(3) / 25, 3 / 25, 8)
    assert picked.max() <= 2 and len(picked) == 8


def test_image_folder_reads_only_needed_frames(tmp_path: Path) -> None:
    import cv2

    paths = []
    for i, frame in enumerate(ramp_frames(20)):
        paths.append(tmp_path / f"images{i:04d}.png")
        cv2.imwrite(str(paths[-1]), frame)
    clip = decode_image_folder(paths, 4, 16)
    assert [frame_index(f) for f in clip.frames] == [3, 8, 13, 18]


def test_ffmpeg_sees_real_codecs(video_dir: Path) -> None:
    from isltk.synth.encode import ffmpeg_executable

    path = video_dir / "probe.mp4"
    write_video_ffmpeg(path, ramp_frames(5), 25, codec="hevc")
    out = subprocess.run([ffmpeg_executable(), "-i", str(path)], capture_output=True, text=True).stderr
    assert "hevc" in out


def test_time_based_sampling_follows_the_clip_duration(video_dir: Path) -> None:
    from isltk.data.video import FrameSampling

    path = video_dir / "ramp.mp4"
    write_video_ffmpeg(path, ramp_frames(40), 25)  # 1.6 s
    clip = decode_video(path, FrameSampling(fps=10), 32)
    assert len(clip.frames) == 16  # 1.6 s x 10 frames/s
    assert [frame_index(f) for f in clip.frames] == sorted({frame_index(f) for f in clip.frames})  # distinct, in order
    assert len(decode_video(path, FrameSampling(fps=50), 32).frames) == 40  # never more than the clip has
    assert len(decode_video(path, FrameSampling(fps=5, min_frames=12), 32).frames) == 12  # a short clip is stretched
    assert len(decode_video(path, FrameSampling(fps=25, max_frames=10), 32).frames) == 10  # a long one sampled down


def test_a_folder_named_like_a_video_is_called_a_folder(tmp_path: Path) -> None:
    (tmp_path / "x.mp4").mkdir()
    with pytest.raises(VideoDecodeError, match="a folder, not a video file"):
        decode_video(tmp_path / "x.mp4", 8, 32)
    with pytest.raises(VideoDecodeError, match="file not found"):
        decode_video(tmp_path / "y.mp4", 8, 32)


def test_a_single_frame_or_a_jpeg_named_mp4_is_rejected_not_stored_as_copies(video_dir: Path) -> None:
    import cv2

    frame = ramp_frames(1, 32, 32)
    write_video_pyav(video_dir / "one.mp4", frame, 25)
    cv2.imwrite(str(video_dir / "still.jpg"), frame[0])
    (video_dir / "still.jpg").rename(video_dir / "still.mp4")
    for name in ("one.mp4", "still.mp4"):
        with pytest.raises(VideoDecodeError, match="a single frame: a still image"):
            decode_video(video_dir / name, 8, 32)
    write_video_pyav(video_dir / "two.mp4", ramp_frames(2, 32, 32), 25)
    assert decode_video(video_dir / "two.mp4", 8, 32).source_frames == 2  # two frames are a (short) video
