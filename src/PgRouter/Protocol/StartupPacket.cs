using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace PgRouter.Protocol;

internal enum StartupPacketKind
{
    SslRequest,
    GssEncRequest,
    CancelRequest,
    Startup,
}

/// <summary>
/// The first packet a client sends on a connection: Int32 length (counting itself), Int32 code,
/// then a body whose shape depends on the code.
/// </summary>
internal sealed class StartupPacket
{
    private StartupPacket(StartupPacketKind kind) => Kind = kind;

    public StartupPacketKind Kind { get; }

    /// <summary>The protocol version a StartupMessage asked for (major &lt;&lt; 16 | minor).</summary>
    public int ProtocolVersion { get; private init; }

    public int ProtocolMajor => ProtocolVersion >> 16;

    public int ProtocolMinor => ProtocolVersion & 0xFFFF;

    public StartupParameters Parameters { get; private init; } = new();

    public CancelKey CancelKey { get; private init; }

    /// <summary>Bytes of the packet, length word included.</summary>
    public int Length { get; private init; }

    /// <summary>
    /// Reads one startup packet. False with a null error means more bytes are needed and the
    /// reader is unmoved; a non-null error is the FATAL error to send before closing.
    /// </summary>
    public static bool TryRead(ref SequenceReader<byte> reader, out StartupPacket? packet, out PgError? error)
    {
        packet = null;
        error = null;
        if (!reader.TryReadBigEndian(out int length))
        {
            return false;
        }

        if (length < 8 || length > StartupCodes.MaxStartupPacketLength)
        {
            error = InvalidLength;
            return false;
        }

        if (reader.Remaining < length - 4)
        {
            reader.Rewind(4);
            return false;
        }

        byte[] body = new byte[length - 4];
        reader.TryCopyTo(body);
        reader.Advance(body.Length);
        packet = Parse(body, length, out error);
        return packet is not null;
    }

    private static readonly PgError InvalidLength = new(SqlState.ProtocolViolation, "invalid length of startup packet");

    private static StartupPacket? Parse(ReadOnlySpan<byte> body, int length, out PgError? error)
    {
        error = null;
        int code = BinaryPrimitives.ReadInt32BigEndian(body);
        ReadOnlySpan<byte> rest = body[4..];
        switch (code)
        {
            case StartupCodes.SslRequest when length == 8:
                return new StartupPacket(StartupPacketKind.SslRequest) { Length = length };
            case StartupCodes.GssEncRequest when length == 8:
                return new StartupPacket(StartupPacketKind.GssEncRequest) { Length = length };
            case StartupCodes.CancelRequest when length == 16:
                return new StartupPacket(StartupPacketKind.CancelRequest)
                {
                    Length = length,
                    CancelKey = new CancelKey(BinaryPrimitives.ReadInt32BigEndian(rest), BinaryPrimitives.ReadInt32BigEndian(rest[4..])),
                };
            case StartupCodes.SslRequest or StartupCodes.GssEncRequest or StartupCodes.CancelRequest:
                error = InvalidLength;
                return null;
        }

        if (code >> 16 != 3)
        {
            error = new PgError(SqlState.FeatureNotSupported, $"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}: server supports 3.0 to 3.0");
            return null;
        }

        var parameters = ParseParameters(rest, out error);
        return parameters is null
            ? null
            : new StartupPacket(StartupPacketKind.Startup) { Length = length, ProtocolVersion = code, Parameters = parameters };
    }

    /// <summary>name\0value\0 … \0, with the final terminator as the last byte, as PostgreSQL demands.</summary>
    private static StartupParameters? ParseParameters(ReadOnlySpan<byte> rest, out PgError? error)
    {
        var parameters = new StartupParameters();
        while (true)
        {
            int nameEnd = rest.IndexOf((byte)0);
            if (nameEnd < 0)
            {
                break;
            }

            if (nameEnd == 0)
            {
                if (rest.Length != 1)
                {
                    break;
                }
                error = null;
                return parameters;
            }

            ReadOnlySpan<byte> afterName = rest[(nameEnd + 1)..];
            int valueEnd = afterName.IndexOf((byte)0);
            if (valueEnd < 0)
            {
                break;
            }

            parameters.Add(Encoding.UTF8.GetString(rest[..nameEnd]), afterName[..valueEnd].ToArray());
            rest = afterName[(valueEnd + 1)..];
        }

        error = new PgError(SqlState.ProtocolViolation, "invalid startup packet layout: expected terminator as last byte");
        return null;
    }
}
