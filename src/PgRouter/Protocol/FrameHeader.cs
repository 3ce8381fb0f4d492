using System.Buffers;
using System.Buffers.Binary;

namespace PgRouter.Protocol;

/// <summary>
/// The five bytes in front of every message after startup: a type byte and an Int32 length that
/// counts itself but not the type byte.
/// </summary>
internal readonly record struct FrameHeader(byte Type, int Length)
{
    public const int Size = 5;

    /// <summary>Type byte, length and body: the bytes the whole frame occupies.</summary>
    public long FrameSize => 1L + Length;

    public int BodyLength => Length - 4;

    /// <summary>False when fewer than five bytes are unread; the reader is not moved.</summary>
    public static bool TryPeek(ref SequenceReader<byte> reader, out FrameHeader header)
    {
        ReadOnlySpan<byte> span = reader.UnreadSpan;
        if (span.Length >= Size)
        {
            header = new FrameHeader(span[0], BinaryPrimitives.ReadInt32BigEndian(span[1..]));
            return true;
        }

        Span<byte> copy = stackalloc byte[Size];
        if (!reader.TryCopyTo(copy))
        {
            header = default;
            return false;
        }

        header = new FrameHeader(copy[0], BinaryPrimitives.ReadInt32BigEndian(copy[1..]));
        return true;
    }
}
