using System.Net.Http.Headers;
using BrainTumor.Tests;

namespace BrainTumor.Api.Tests;

/// <summary>Requests as clients send them.</summary>
internal static class Uploads
{
    public static byte[] DatasetJpeg(string label = "glioma_tumor", int index = 0) =>
        File.ReadAllBytes(RepositoryPaths.DatasetImage(label, index));

    /// <summary>The committed public slice (<see cref="PublicSlice"/>): for requests that need some slice the service answers.</summary>
    public static byte[] PublicJpeg() => File.ReadAllBytes(PublicSlice.Jpeg);

    public static MultipartFormDataContent Form(byte[] bytes, string field = "image", string fileName = "slice.jpg",
        string contentType = "image/jpeg")
    {
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return new MultipartFormDataContent { { file, field, fileName } };
    }

    public static ByteArrayContent Raw(byte[] bytes, string contentType = "image/jpeg")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return content;
    }

    /// <summary>A BMP header that declares <paramref name="side"/> x <paramref name="side"/> pixels but carries almost none.</summary>
    public static byte[] BmpDeclaring(int side)
    {
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        writer.Write((byte)'B');
        writer.Write((byte)'M');
        writer.Write(54 + 16);
        writer.Write(0);
        writer.Write(54);
        writer.Write(40);
        writer.Write(side);
        writer.Write(side);
        writer.Write((short)1);
        writer.Write((short)24);
        writer.Write(0);
        writer.Write(0);
        writer.Write(2835);
        writer.Write(2835);
        writer.Write(0);
        writer.Write(0);
        writer.Write(new byte[16]);
        return stream.ToArray();
    }
}
