using System.Buffers;

namespace PgRouter.Protocol;

/// <summary>
/// What goes on to the other side of a received buffer: the received bytes themselves while
/// nothing changes (no copy at all), and from the first dropped or replaced message on, a copy
/// with the changes made. One instance per direction is reused, so nothing is allocated.
/// </summary>
internal sealed class OutgoingBytes
{
    private readonly MessageWriter _copy = new();
    private ReadOnlySequence<byte> _source;
    private SequencePosition _runStart;
    private bool _copying;

    public void Begin(in ReadOnlySequence<byte> source)
    {
        _source = source;
        _runStart = source.Start;
        _copying = false;
        _copy.Clear();
    }

    /// <summary>Leaves a message out.</summary>
    public void Drop(SequencePosition frameStart, SequencePosition frameEnd)
    {
        Flush(frameStart);
        _runStart = frameEnd;
    }

    /// <summary>Puts something else in place of a message: write it into the returned writer.</summary>
    public MessageWriter Replace(SequencePosition frameStart, SequencePosition frameEnd)
    {
        Drop(frameStart, frameEnd);
        return _copy;
    }

    /// <summary>Adds something before the next received bytes.</summary>
    public MessageWriter Insert(SequencePosition at)
    {
        Flush(at);
        _runStart = at;
        return _copy;
    }

    /// <summary>Everything up to <paramref name="end"/> has been looked at.</summary>
    public void End(SequencePosition end)
    {
        if (_copying)
        {
            _copy.WriteBytes(_source.Slice(_runStart, end));
        }
        _runStart = end;
    }

    public bool IsCopy => _copying;

    /// <summary>The copy, when something changed.</summary>
    public ReadOnlyMemory<byte> Copy => _copy.Written;

    /// <summary>The received bytes up to <paramref name="end"/>, when nothing changed.</summary>
    public ReadOnlySequence<byte> Original(SequencePosition end) => _source.Slice(_source.Start, end);

    private void Flush(SequencePosition until)
    {
        _copying = true;
        _copy.WriteBytes(_source.Slice(_runStart, until));
    }
}
