using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

// Marks TorchSharp's GLIBCXX_3.4.32 version need weak (ELF64, little-endian) when the system's libstdc++
// lacks that version, and tells the build whether the stand-in library still has to be added as DT_NEEDED.
public sealed class InspectTorchSharpGlibcxx : Task
{
    private const string MissingVersion = "GLIBCXX_3.4.32";
    private const uint ShtDynamic = 6;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlagWeak = 0x2;
    private const long DtNeeded = 1;

    private static readonly string[] LibStdCxxCandidates =
    {
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
    };

    [Required] public string LibraryPath { get; set; } = "";
    [Required] public string ShimName { get; set; } = "";
    [Output] public bool SystemHasVersion { get; set; }
    [Output] public bool NeedsShim { get; set; }

    public override bool Execute()
    {
        var marker = Encoding.ASCII.GetBytes(MissingVersion + "\0");
        SystemHasVersion = LibStdCxxCandidates.Where(File.Exists)
            .Any(path => IndexOf(File.ReadAllBytes(path), marker) >= 0);
        if (SystemHasVersion)
        {
            return true;
        }

        var elf = File.ReadAllBytes(LibraryPath);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[4] != 2 || elf[5] != 1)
        {
            Log.LogError($"{LibraryPath} is not a little-endian ELF64 library.");
            return false;
        }

        var sections = ReadSections(elf);
        bool changed = false;
        foreach (var verneed in sections.Where(s => s.Type == ShtGnuVerneed))
        {
            var strings = sections[(int)verneed.Link];
            long entry = verneed.Offset;
            for (uint i = 0; i < verneed.Info; i++)
            {
                int count = BitConverter.ToUInt16(elf, (int)entry + 2);
                long aux = entry + BitConverter.ToUInt32(elf, (int)entry + 8);
                for (int j = 0; j < count; j++)
                {
                    string name = ReadString(elf, strings.Offset + BitConverter.ToUInt32(elf, (int)aux + 8));
                    ushort flags = BitConverter.ToUInt16(elf, (int)aux + 4);
                    if (name == MissingVersion && (flags & VerFlagWeak) == 0)
                    {
                        BitConverter.GetBytes((ushort)(flags | VerFlagWeak)).CopyTo(elf, aux + 4);
                        changed = true;
                    }
                    aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                }
                entry += BitConverter.ToUInt32(elf, (int)entry + 12);
            }
        }

        var needed = new List<string>();
        foreach (var dynamic in sections.Where(s => s.Type == ShtDynamic))
        {
            var strings = sections[(int)dynamic.Link];
            for (long at = dynamic.Offset; at + 16 <= dynamic.Offset + dynamic.Size; at += 16)
            {
                if (BitConverter.ToInt64(elf, (int)at) == DtNeeded)
                {
                    needed.Add(ReadString(elf, strings.Offset + BitConverter.ToInt64(elf, (int)at + 8)));
                }
            }
        }

        if (changed)
        {
            File.WriteAllBytes(LibraryPath, elf);
            Log.LogMessage(MessageImportance.High, $"Marked {MissingVersion} weak in {LibraryPath}");
        }
        NeedsShim = !needed.Contains(ShimName);
        return true;
    }

    private sealed class Section
    {
        public Section(uint type, long offset, long size, uint link, uint info)
        {
            Type = type; Offset = offset; Size = size; Link = link; Info = info;
        }

        public uint Type { get; }
        public long Offset { get; }
        public long Size { get; }
        public uint Link { get; }
        public uint Info { get; }
    }

    private static List<Section> ReadSections(byte[] elf)
    {
        long tableOffset = BitConverter.ToInt64(elf, 0x28);
        int entrySize = BitConverter.ToUInt16(elf, 0x3A);
        int count = BitConverter.ToUInt16(elf, 0x3C);
        var sections = new List<Section>(count);
        for (int i = 0; i < count; i++)
        {
            int at = (int)(tableOffset + (long)i * entrySize);
            sections.Add(new Section(
                BitConverter.ToUInt32(elf, at + 4), BitConverter.ToInt64(elf, at + 24),
                BitConverter.ToInt64(elf, at + 32), BitConverter.ToUInt32(elf, at + 40),
                BitConverter.ToUInt32(elf, at + 44)));
        }
        return sections;
    }

    private static string ReadString(byte[] data, long offset)
    {
        int end = (int)offset;
        while (data[end] != 0) end++;
        return Encoding.ASCII.GetString(data, (int)offset, end - (int)offset);
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }
}
