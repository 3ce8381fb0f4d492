using System.Buffers;

namespace PgRouter.Tests.Support;

/// <summary>Builds multi-segment sequences, to prove parsing does not depend on where the network splits bytes.</summary>
internal static class Sequences
{
    public static ReadOnlySequence<byte> OneSegmentPerByte(byte[] bytes) =>
        Build(bytes.Select(b => new[] { b }).ToArray());

    /// <summary>Two segments split at <paramref name="at"/>.</summary>
    public static ReadOnlySequence<byte> SplitAt(byte[] bytes, int at) => Build(bytes[..at], bytes[at..]);

    public static ReadOnlySequence<byte> Build(params byte[][] segments)
    {
        var parts = segments.Where(s => s.Length > 0).ToArray();
        if (parts.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }
        var first = new Segment(parts[0], 0);
        var last = first;
        foreach (var part in parts.Skip(1))
        {
            last = last.Append(part);
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(byte[] memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
