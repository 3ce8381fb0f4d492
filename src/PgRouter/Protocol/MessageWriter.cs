using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace PgRouter.Protocol;

/// <summary>
/// Writes messages into one reusable buffer on the hot path (rewritten or injected frames): after
/// a warm-up nothing is allocated. <see cref="Begin"/> reserves the length, <see cref="End"/> fills it.
/// </summary>
internal sealed class MessageWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private int _messageStart = -1;

    public ReadOnlyMemory<byte> Written => _buffer.WrittenMemory;

    public int Length => _buffer.WrittenCount;

    public void Clear() => _buffer.Clear();

    public void Begin(byte type)
    {
        WriteByte(type);
        _messageStart = _buffer.WrittenCount;
        WriteInt32(0);
    }

    public void End()
    {
        int length = _buffer.WrittenCount - _messageStart;
        // The length word was written through GetSpan; patch it in the written region.
        BinaryPrimitives.WriteInt32BigEndian(MemoryMarshalWritten().Slice(_messageStart, 4), length);
        _messageStart = -1;
    }

    public void WriteByte(byte value)
    {
        _buffer.GetSpan(1)[0] = value;
        _buffer.Advance(1);
    }

    public void WriteInt32(int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
    }

    public void WriteBytes(ReadOnlySpan<byte> value) => _buffer.Write(value);

    public void WriteBytes(in ReadOnlySequence<byte> value)
    {
        foreach (var segment in value)
        {
            _buffer.Write(segment.Span);
        }
    }

    public void WriteCString(string value)
    {
        int max = Encoding.UTF8.GetMaxByteCount(value.Length) + 1;
        var span = _buffer.GetSpan(max);
        int written = Encoding.UTF8.GetBytes(value, span);
        span[written] = 0;
        _buffer.Advance(written + 1);
    }

    private Span<byte> MemoryMarshalWritten() =>
        System.Runtime.InteropServices.MemoryMarshal.AsMemory(_buffer.WrittenMemory).Span;
}
