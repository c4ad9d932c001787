using BrainTumor.Tests;
using SkiaSharp;

namespace BrainTumor.Imaging.Tests;

public class ImageLoaderTests
{
    public static TheoryData<string> Formats => new() { "jpeg", "png", "webp", "bmp" };

    private static byte[] EncodedTwoHalves(string format, int width, int height)
    {
        using var bitmap = TestImages.TwoHalves(width, height);
        return format switch
        {
            "jpeg" => TestImages.Encode(bitmap, SKEncodedImageFormat.Jpeg),
            "png" => TestImages.Encode(bitmap, SKEncodedImageFormat.Png),
            "webp" => TestImages.Encode(bitmap, SKEncodedImageFormat.Webp, 100),
            "bmp" => TestImages.Bmp(bitmap),
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };
    }

    private static void AssertColor(RgbImage image, int x, int y, SKColor expected, int tolerance = 12)
    {
        int at = y * image.Width + x;
        Assert.InRange(image.Planes[at], expected.Red - tolerance, expected.Red + tolerance);
        Assert.InRange(image.Planes[image.PixelCount + at], expected.Green - tolerance, expected.Green + tolerance);
        Assert.InRange(image.Planes[2 * image.PixelCount + at], expected.Blue - tolerance, expected.Blue + tolerance);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void EverySupportedFormatDecodesToTheSamePixels(string format)
    {
        var image = ImageLoader.DecodeAndResize(EncodedTwoHalves(format, 32, 16), 32, 16);

        Assert.Equal((32, 16), (image.Width, image.Height));
        AssertColor(image, 4, 8, TestImages.Red);
        AssertColor(image, 27, 8, TestImages.Blue);
    }

    [Fact]
    public void ExifOrientationSixTurnsTheImageClockwise()
    {
        byte[] jpeg = TestImages.WithExifOrientation(EncodedTwoHalves("jpeg", 32, 16), 6);

        using var upright = ImageLoader.Decode(jpeg);
        var image = ImageLoader.Resize(upright, upright.Width, upright.Height);

        Assert.Equal((16, 32), (image.Width, image.Height));
        AssertColor(image, 8, 4, TestImages.Red);
        AssertColor(image, 8, 27, TestImages.Blue);
    }

    [Fact]
    public void ExifOrientationThreeTurnsTheImageUpsideDown()
    {
        byte[] jpeg = TestImages.WithExifOrientation(EncodedTwoHalves("jpeg", 32, 16), 3);

        var image = ImageLoader.DecodeAndResize(jpeg, 32, 16);

        AssertColor(image, 4, 8, TestImages.Blue);
        AssertColor(image, 27, 8, TestImages.Red);
    }

    [Fact]
    public void GrayscaleImageBecomesThreeEqualChannels()
    {
        using var gray = new SKBitmap(new SKImageInfo(8, 8, SKColorType.Gray8, SKAlphaType.Opaque));
        for (int y = 0; y < 8; y++)
        {
            for (int x = 0; x < 8; x++)
            {
                gray.SetPixel(x, y, new SKColor((byte)(x * 30), (byte)(x * 30), (byte)(x * 30)));
            }
        }

        var image = ImageLoader.DecodeAndResize(TestImages.Encode(gray, SKEncodedImageFormat.Png), 8, 8);

        var planes = image.Planes;
        Assert.Equal(planes.AsSpan(0, 64).ToArray(), planes.AsSpan(64, 64).ToArray());
        Assert.Equal(planes.AsSpan(0, 64).ToArray(), planes.AsSpan(128, 64).ToArray());
        Assert.Equal(210, planes[7]);
    }

    [Fact]
    public void ResizingAWideImageStretchesItWithoutBorders()
    {
        using var white = new SKBitmap(new SKImageInfo(300, 120, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        white.Erase(SKColors.White);

        var image = ImageLoader.DecodeAndResize(TestImages.Encode(white, SKEncodedImageFormat.Png), 64, 64);

        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.All(image.Planes, value => Assert.Equal(255, value));
    }

    [Fact]
    public void AnMriSliceDecodesAndResizesToTheModelInput()
    {
        var image = ImageLoader.DecodeAndResize(File.ReadAllBytes(PublicSlice.Jpeg), 224, 224);

        Assert.Equal(3 * 224 * 224, image.Planes.Length);
        Assert.Contains(image.Planes, value => value > 50);
    }

    [Fact]
    public void TensorIsPlanarAndNormalised()
    {
        var image = new RgbImage(2, 1, [0, 255, 51, 102, 204, 153]);

        float[] rescaled = image.ToTensor(Normalization.Rescale255);
        float[] standardised = image.ToTensor(new Normalization(1f / 255f, [0.5f, 0.5f, 0.5f], [0.5f, 0.25f, 0.5f]));

        Assert.Equal([0f, 1f, 0.2f, 0.4f, 0.8f, 0.6f], rescaled, new FloatTolerance(1e-6f));
        Assert.Equal([-1f, 1f, -1.2f, -0.4f, 0.6f, 0.2f], standardised, new FloatTolerance(1e-5f));
    }

    [Fact]
    public void TheTensorHoldsEachLevelTimesTheScaleMinusTheShiftRoundedTwiceAsTheScalarFormula()
    {
        // Every level in each plane, in an image wide enough for whole vectors and a remainder.
        int width = 259, plane = width;
        var planes = new byte[3 * plane];
        for (int i = 0; i < planes.Length; i++) planes[i] = (byte)(i * 7 % 256);
        var normalization = new Normalization(1f / 255f, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

        float[] tensor = new RgbImage(width, 1, planes).ToTensor(normalization);

        for (int i = 0; i < planes.Length; i++)
        {
            int c = i / plane;
            float scale = normalization.Scale / normalization.Std[c], shift = normalization.Mean[c] / normalization.Std[c];
            float product = planes[i] * scale;
            Assert.Equal(product - shift, tensor[i]);
        }
    }

    [Fact]
    public void EmptyInputIsRejected()
    {
        var error = Assert.Throws<ImageDecodeException>(() => ImageLoader.Decode([]));
        Assert.Contains("empty", error.Message);
    }

    [Fact]
    public void BytesThatAreNoImageAreRejected()
    {
        var error = Assert.Throws<ImageDecodeException>(() => ImageLoader.Decode("this is not an image"u8));
        Assert.Contains("not a JPEG, PNG, BMP or WebP", error.Message);
    }

    [Fact]
    public void TruncatedJpegIsRejected()
    {
        byte[] jpeg = EncodedTwoHalves("jpeg", 64, 64);

        Assert.Throws<ImageDecodeException>(() => ImageLoader.Decode(jpeg.AsSpan(0, jpeg.Length / 2)));
    }

    [Fact]
    public void GifIsRejectedAsUnsupported()
    {
        byte[] gif = Convert.FromBase64String("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==");

        var error = Assert.Throws<ImageDecodeException>(() => ImageLoader.Decode(gif));
        Assert.Contains("Gif", error.Message);
    }

    /// <summary>A valid PNG with a text chunk of <paramref name="textBytes"/> bytes inserted after its header.</summary>
    private static byte[] PngWithTextChunk(int textBytes)
    {
        byte[] png = EncodedTwoHalves("png", 128, 128);
        const int afterHeader = 8 + 25;
        var chunk = new byte[12 + textBytes];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(chunk, (uint)textBytes);
        "tEXt"u8.CopyTo(chunk.AsSpan(4));
        "Comment\0"u8.CopyTo(chunk.AsSpan(8));
        chunk.AsSpan(16, textBytes - 8).Fill((byte)'x');
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + textBytes), Crc32(chunk.AsSpan(4, 4 + textBytes)));
        return [.. png.AsSpan(0, afterHeader), .. chunk, .. png.AsSpan(afterHeader)];
    }

    /// <summary>The PNG chunk checksum (ISO 3309 CRC-32), bit by bit.</summary>
    private static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
        }
        return ~crc;
    }

    /// <summary>Two frames of a still WebP wrapped in the animated container (RIFF: VP8X with the animation flag, ANIM, two
    /// ANMF).</summary>
    private static byte[] AnimatedWebp()
    {
        byte[] still = EncodedTwoHalves("webp", 64, 64);
        // The still file is RIFF, size, WEBP, then its image chunk ("VP8 " or "VP8L"), which each frame repeats.
        var frame = still.AsSpan(12).ToArray();
        static byte[] Chunk(string fourCc, byte[] payload)
        {
            var chunk = new List<byte>(System.Text.Encoding.ASCII.GetBytes(fourCc));
            chunk.AddRange(BitConverter.GetBytes(payload.Length));
            chunk.AddRange(payload);
            if (payload.Length % 2 == 1) chunk.Add(0);
            return [.. chunk];
        }
        static byte[] Int24(int value) => [(byte)value, (byte)(value >> 8), (byte)(value >> 16)];
        byte[] vp8x = Chunk("VP8X", [0x02, 0, 0, 0, .. Int24(63), .. Int24(63)]);
        byte[] anim = Chunk("ANIM", [0, 0, 0, 0, 0, 0]);
        byte[] anmf = Chunk("ANMF", [.. Int24(0), .. Int24(0), .. Int24(63), .. Int24(63), .. Int24(100), 0, .. frame]);
        byte[] body = [.. "WEBP"u8, .. vp8x, .. anim, .. anmf, .. anmf];
        return [.. "RIFF"u8, .. BitConverter.GetBytes(body.Length), .. body];
    }

    [Fact]
    public void AnAnimatedImageIsRefusedInsteadOfReadAsItsFirstFrame()
    {
        var error = Assert.Throws<ImageDecodeException>(() => ImageLoader.Decode(AnimatedWebp()));

        Assert.Equal(ImageProblem.UnsupportedFormat, error.Problem);
        Assert.Contains("animated (2 frames)", error.Message);
    }

    [Fact]
    public void APngWithMegabytesOfTextIsRefusedBeforeDecodingNamingTheChunk()
    {
        var error = Assert.Throws<ImageDecodeException>(() => ImageLoader.Decode(PngWithTextChunk(15 * 1024 * 1024)));

        Assert.Equal(ImageProblem.OversizedMetadata, error.Problem);
        Assert.Contains("'tEXt' chunk of 15,728,640 bytes", error.Message);
    }

    [Fact]
    public void APngWithASmallTextChunkStillDecodes()
    {
        using var bitmap = ImageLoader.Decode(PngWithTextChunk(1000));

        Assert.Equal((128, 128), (bitmap.Width, bitmap.Height));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(512, 32)]
    public void AnImageTooSmallForASliceIsRefusedForClassification(int width, int height)
    {
        byte[] png = EncodedTwoHalves("png", width, height);

        var error = Assert.Throws<ImageDecodeException>(() => ImageLoader.Decode(png, ImageLimits.Classification));

        Assert.Equal(ImageProblem.TooSmall, error.Problem);
        using var anyUse = ImageLoader.Decode(png);
        Assert.Equal(width, anyUse.Width);
    }

    [Fact]
    public void AnImageOverThePixelBudgetIsRefusedFromItsHeader()
    {
        byte[] png = EncodedTwoHalves("png", 300, 200);

        var error = Assert.Throws<ImageDecodeException>(() => ImageLoader.Decode(png, ImageLimits.Default with { MaxPixels = 50_000 }));

        Assert.Equal(ImageProblem.TooLarge, error.Problem);
        Assert.Contains("60,000 pixels", error.Message);
    }

    [Fact]
    public void A512PixelJpegForA160PixelModelIsDecodedAtHalfSize()
    {
        byte[] jpeg = EncodedTwoHalves("jpeg", 512, 512);

        var decoded = ImageLoader.DecodeWithDicomInfo(jpeg, ImageLimits.Classification, new SKSizeI(160, 160));
        using var bitmap = decoded.Bitmap;

        Assert.Equal((256, 256), (bitmap.Width, bitmap.Height));
        Assert.Equal(new SKSizeI(512, 512), decoded.FullSize);
        var image = ImageLoader.Resize(bitmap, bitmap.Width, bitmap.Height);
        AssertColor(image, 32, 128, TestImages.Red);
        AssertColor(image, 224, 128, TestImages.Blue);
    }

    [Theory]
    [InlineData(129, 256)]
    [InlineData(112, 128)]
    [InlineData(65, 128)]
    [InlineData(64, 64)]
    [InlineData(32, 64)]
    public void A512PixelJpegIsDecodedAtTheSmallestScaleThatCoversTheInput(int input, int expectedSide)
    {
        using var bitmap = ImageLoader.Decode(EncodedTwoHalves("jpeg", 512, 512), atLeast: new SKSizeI(input, input));

        Assert.Equal((expectedSide, expectedSide), (bitmap.Width, bitmap.Height));
    }

    [Theory]
    [InlineData(300, 224)]
    [InlineData(446, 224)]
    [InlineData(512, 257)]
    public void AJpegSmallerThanTwiceTheInputIsDecodedAtFullSize(int side, int input)
    {
        using var bitmap = ImageLoader.Decode(EncodedTwoHalves("jpeg", side, side), atLeast: new SKSizeI(input, input));

        Assert.Equal((side, side), (bitmap.Width, bitmap.Height));
    }

    [Fact]
    public void AWideJpegIsReducedOnlyAsFarAsItsShorterSideAllows()
    {
        using var bitmap = ImageLoader.Decode(EncodedTwoHalves("jpeg", 1024, 300), atLeast: new SKSizeI(128, 128));

        Assert.Equal((512, 150), (bitmap.Width, bitmap.Height));
    }

    [Fact]
    public void AnExifRotatedJpegIsComparedWithTheInputUpright()
    {
        // Stored 600x200, upright 200x600: at half size 100x300, which covers a 100-wide, 250-high input only when turned.
        byte[] jpeg = TestImages.WithExifOrientation(EncodedTwoHalves("jpeg", 600, 200), 6);

        var decoded = ImageLoader.DecodeWithDicomInfo(jpeg, atLeast: new SKSizeI(100, 250));
        using var bitmap = decoded.Bitmap;

        Assert.Equal((100, 300), (bitmap.Width, bitmap.Height));
        Assert.Equal(new SKSizeI(200, 600), decoded.FullSize);
    }

    [Theory]
    [InlineData("png")]
    [InlineData("webp")]
    [InlineData("bmp")]
    public void APngWebPOrBmpIsDecodedAtFullSize(string format)
    {
        var decoded = ImageLoader.DecodeWithDicomInfo(EncodedTwoHalves(format, 512, 512), atLeast: new SKSizeI(64, 64));
        using var bitmap = decoded.Bitmap;

        Assert.Equal((512, 512), (bitmap.Width, bitmap.Height));
        Assert.Equal(new SKSizeI(512, 512), decoded.FullSize);
    }

    [Fact]
    public void AScaledDecodeChecksTheLimitsOnTheDeclaredSize()
    {
        byte[] jpeg = EncodedTwoHalves("jpeg", 1024, 1024);

        var error = Assert.Throws<ImageDecodeException>(() =>
            ImageLoader.Decode(jpeg, ImageLimits.Default with { MaxPixels = 500_000 }, new SKSizeI(64, 64)));

        Assert.Equal(ImageProblem.TooLarge, error.Problem);
    }

    [Fact]
    public void ATruncatedJpegIsCorruptAtAReducedScaleToo()
    {
        byte[] jpeg = EncodedTwoHalves("jpeg", 512, 512);

        var error = Assert.Throws<ImageDecodeException>(() =>
            ImageLoader.Decode(jpeg.AsSpan(0, jpeg.Length / 2), atLeast: new SKSizeI(64, 64)));

        Assert.Equal(ImageProblem.Corrupt, error.Problem);
    }

    [Fact]
    public void ARegionFoundInAHalfSizeDecodeScalesToTheUploadsPixels()
    {
        var region = new InputRegion(10, 20, 100, 120).Scaled(2, 2);

        Assert.Equal(new InputRegion(20, 40, 200, 240), region);
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(float value) => 0;
    }
}
