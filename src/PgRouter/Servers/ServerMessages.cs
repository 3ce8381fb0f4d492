using System.Buffers;
using System.IO.Pipelines;
using PgRouter.Protocol;

namespace PgRouter.Servers;

/// <summary>One whole backend message, copied out of the pipe: for logins and probes, not for relaying.</summary>
internal readonly record struct ServerMessage(byte Type, byte[] Body)
{
    /// <summary>The frame as the parser expects it (type, length, body).</summary>
    public ReadOnlySequence<byte> Frame
    {
        get
        {
            var frame = new byte[FrameHeader.Size + Body.Length];
            frame[0] = Type;
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), Body.Length + 4);
            Body.CopyTo(frame, FrameHeader.Size);
            return new ReadOnlySequence<byte>(frame);
        }
    }
}

internal static class ServerMessages
{
    /// <summary>Largest message a login or probe accepts: far above anything they expect.</summary>
    private const int MaxLength = 1024 * 1024;

    /// <summary>The next message, or null when the server closed the connection.</summary>
    public static async ValueTask<ServerMessage?> ReadAsync(PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            if (FrameHeader.TryPeek(ref reader, out var header))
            {
                if (header.Length < 4 || header.Length > MaxLength)
                {
                    input.AdvanceTo(buffer.End);
                    throw new InvalidDataException($"server sent a message of type {(char)header.Type} with invalid length {header.Length}");
                }
                if (reader.Remaining >= header.FrameSize)
                {
                    byte[] body = buffer.Slice(FrameHeader.Size, header.BodyLength).ToArray();
                    input.AdvanceTo(buffer.GetPosition(header.FrameSize));
                    return new ServerMessage(header.Type, body);
                }
            }
            if (result.IsCompleted)
            {
                input.AdvanceTo(buffer.End);
                return null;
            }
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
