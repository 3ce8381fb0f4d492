using System.Buffers.Binary;
using System.Text;

namespace PgRouter.Protocol;

/// <summary>
/// Builds one message for the cold paths (errors, logins, probes): type byte, length placeholder,
/// fields; <see cref="ToArray"/> fills in the length. The hot path forwards bytes and builds nothing.
/// </summary>
internal sealed class MessageBuilder
{
    private byte[] _buffer = new byte[64];
    private int _position;
    private readonly int _lengthOffset;

    /// <param name="type">The type byte, or null for startup-style packets that have none.</param>
    public MessageBuilder(byte? type)
    {
        if (type is byte t)
        {
            WriteByte(t);
        }
        _lengthOffset = _position;
        WriteInt32(0);
    }

    public MessageBuilder WriteByte(byte value)
    {
        Ensure(1);
        _buffer[_position++] = value;
        return this;
    }

    public MessageBuilder WriteInt32(int value)
    {
        Ensure(4);
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_position), value);
        _position += 4;
        return this;
    }

    public MessageBuilder WriteInt16(short value)
    {
        Ensure(2);
        BinaryPrimitives.WriteInt16BigEndian(_buffer.AsSpan(_position), value);
        _position += 2;
        return this;
    }

    public MessageBuilder WriteBytes(ReadOnlySpan<byte> value)
    {
        Ensure(value.Length);
        value.CopyTo(_buffer.AsSpan(_position));
        _position += value.Length;
        return this;
    }

    /// <summary>A NUL-terminated UTF-8 string.</summary>
    public MessageBuilder WriteCString(string value)
    {
        Ensure(Encoding.UTF8.GetMaxByteCount(value.Length) + 1);
        _position += Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_position));
        _buffer[_position++] = 0;
        return this;
    }

    public byte[] ToArray()
    {
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_lengthOffset), _position - _lengthOffset);
        return _buffer.AsSpan(0, _position).ToArray();
    }

    private void Ensure(int count)
    {
        if (_position + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _position + count));
        }
    }
}
