import cv2
import numpy as np
import pytest

from uglli_core.files.images import ImageReadError, load_image


def _picture():
    """A 40×60 image whose corners differ, so any rotation or mirror shows."""
    image = np.zeros((40, 60, 3), np.uint8)
    image[:10, :10] = (255, 0, 0)      # top-left red (RGB)
    image[:10, -10:] = (0, 255, 0)     # top-right green
    return image


def _exif_jpeg(orientation: int) -> bytes:
    """A JPEG of _picture() with an EXIF APP1 segment holding only the orientation tag."""
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(_picture(), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 100])
    tiff = (b"MM\x00\x2a\x00\x00\x00\x08" + (1).to_bytes(2, "big")
            + (0x0112).to_bytes(2, "big") + (3).to_bytes(2, "big") + (1).to_bytes(4, "big")
            + orientation.to_bytes(2, "big") + b"\x00\x00" + (0).to_bytes(4, "big"))
    payload = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    data = jpeg.tobytes()
    return data[:2] + app1 + data[2:]


def test_colour_png_comes_back_as_rgb(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), cv2.cvtColor(_picture(), cv2.COLOR_RGB2BGR))
    np.testing.assert_array_equal(load_image(tmp_path / "a.png"), _picture())


@pytest.mark.parametrize("pixels", [
    np.full((8, 9), 100, np.uint8),                       # grey
    np.full((8, 9, 4), 100, np.uint8),                    # RGBA
    np.full((8, 9, 3), 100 * 257, np.uint16),             # 16-bit
])
def test_grey_rgba_and_16_bit_become_8_bit_rgb(tmp_path, pixels):
    cv2.imwrite(str(tmp_path / "a.png"), pixels)
    image = load_image(tmp_path / "a.png")
    assert image.dtype == np.uint8 and image.shape == (8, 9, 3)
    assert abs(int(image[0, 0, 0]) - 100) <= 1


@pytest.mark.parametrize("orientation, shape, red_at", [
    (1, (40, 60), (0, 0)), (2, (40, 60), (0, 59)), (3, (40, 60), (39, 59)), (4, (40, 60), (39, 0)),
    (5, (60, 40), (0, 0)), (6, (60, 40), (0, 39)), (7, (60, 40), (59, 39)), (8, (60, 40), (59, 0)),
])
def test_exif_orientation_is_honoured(tmp_path, orientation, shape, red_at):
    (tmp_path / "a.jpg").write_bytes(_exif_jpeg(orientation))
    image = load_image(tmp_path / "a.jpg")
    assert image.shape[:2] == shape
    assert image[red_at][0] > 200 and image[red_at][1] < 60


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"),
    (b"this is not an image", "not a readable image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "not a readable image"),
])
def test_bad_files_say_why(tmp_path, content, reason):
    (tmp_path / "bad.png").write_bytes(content)
    with pytest.raises(ImageReadError, match=reason):
        load_image(tmp_path / "bad.png")


def test_truncated_jpeg_and_huge_header(tmp_path):
    ok, jpeg = cv2.imencode(".jpg", np.zeros((64, 64, 3), np.uint8))
    (tmp_path / "cut.jpg").write_bytes(jpeg.tobytes()[:40])
    with pytest.raises(ImageReadError):
        load_image(tmp_path / "cut.jpg")
    ok, png = cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))
    data = bytearray(png.tobytes())
    data[16:24] = (20000).to_bytes(4, "big") + (20000).to_bytes(4, "big")
    (tmp_path / "huge.png").write_bytes(bytes(data))
    with pytest.raises(ImageReadError, match="too large"):
        load_image(tmp_path / "huge.png")


def test_unicode_names_and_missing_files(tmp_path):
    path = tmp_path / "visage été 😀.png"
    cv2.imwrite(str(tmp_path / "plain.png"), np.zeros((5, 5, 3), np.uint8))
    (tmp_path / "plain.png").rename(path)
    assert load_image(path).shape == (5, 5, 3)
    with pytest.raises(ImageReadError, match="cannot be read"):
        load_image(tmp_path / "missing.png")
