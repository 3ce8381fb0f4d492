using System.Buffers;

namespace PgRouter.Protocol;

/// <summary>
/// Steps over frames across reads. A frame's body may be forwarded before all of it has arrived;
/// the walker remembers how much of it is still to come, so the next read starts mid-frame.
/// </summary>
internal struct FrameWalker
{
    private long _pending;

    /// <summary>True while the last frame seen is only partly through.</summary>
    public readonly bool InsideFrame => _pending > 0;

    /// <summary>Passes the rest of a frame begun in an earlier read; false when the buffer ends first.</summary>
    public bool SkipPending(ref SequenceReader<byte> reader)
    {
        if (_pending == 0)
        {
            return true;
        }
        long skip = Math.Min(_pending, reader.Remaining);
        reader.Advance(skip);
        _pending -= skip;
        return _pending == 0;
    }

    /// <summary>Passes the frame whose header was peeked: all of it, or what there is and notes the rest.</summary>
    public bool Pass(ref SequenceReader<byte> reader, FrameHeader header)
    {
        if (reader.Remaining >= header.FrameSize)
        {
            reader.Advance(header.FrameSize);
            return true;
        }
        _pending = header.FrameSize - reader.Remaining;
        reader.AdvanceToEnd();
        return false;
    }
}
