using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace PgRouter.Protocol;

/// <summary>
/// Reads the few backend messages PgRouter interprets. Each takes a whole frame (type, length,
/// body). Only ReadyForQuery is on the hot path; the rest are rare enough to copy.
/// </summary>
internal static class BackendMessageParser
{
    public static TransactionStatus ReadyForQueryStatus(in ReadOnlySequence<byte> frame)
    {
        // Type, length and status are one byte, four and one: the status is the sixth byte.
        var status = frame.Slice(FrameHeader.Size, 1);
        return (TransactionStatus)status.FirstSpan[0];
    }

    public static int AuthenticationCode(in ReadOnlySequence<byte> frame)
    {
        Span<byte> code = stackalloc byte[4];
        frame.Slice(FrameHeader.Size, 4).CopyTo(code);
        return BinaryPrimitives.ReadInt32BigEndian(code);
    }

    public static CancelKey BackendKeyData(in ReadOnlySequence<byte> frame)
    {
        Span<byte> body = stackalloc byte[8];
        frame.Slice(FrameHeader.Size, 8).CopyTo(body);
        return new CancelKey(BinaryPrimitives.ReadInt32BigEndian(body), BinaryPrimitives.ReadInt32BigEndian(body[4..]));
    }

    public static KeyValuePair<string, string> ParameterStatus(in ReadOnlySequence<byte> frame)
    {
        ReadOnlySpan<byte> body = Body(frame);
        int nameEnd = body.IndexOf((byte)0);
        if (nameEnd < 0)
        {
            return KeyValuePair.Create(string.Empty, string.Empty);
        }
        ReadOnlySpan<byte> value = body[(nameEnd + 1)..];
        int valueEnd = value.IndexOf((byte)0);
        return KeyValuePair.Create(
            Encoding.UTF8.GetString(body[..nameEnd]),
            Encoding.UTF8.GetString(valueEnd < 0 ? value : value[..valueEnd]));
    }

    /// <summary>ErrorResponse and NoticeResponse: (code byte, string) fields ending with a zero byte.</summary>
    public static PgError ErrorResponse(in ReadOnlySequence<byte> frame) => ErrorResponse(frame, out _);

    /// <param name="fatal">The severity is FATAL or PANIC: the server closes the connection next.</param>
    public static PgError ErrorResponse(in ReadOnlySequence<byte> frame, out bool fatal)
    {
        ReadOnlySpan<byte> body = Body(frame);
        string sqlState = SqlState.InternalError, message = string.Empty;
        string? detail = null, hint = null;
        fatal = false;
        while (body.Length > 1 && body[0] != 0)
        {
            byte field = body[0];
            int end = body[1..].IndexOf((byte)0);
            if (end < 0)
            {
                break;
            }
            var value = body.Slice(1, end);
            switch (field)
            {
                case (byte)'C': sqlState = Encoding.UTF8.GetString(value); break;
                case (byte)'M': message = Encoding.UTF8.GetString(value); break;
                case (byte)'D': detail = Encoding.UTF8.GetString(value); break;
                case (byte)'H': hint = Encoding.UTF8.GetString(value); break;
                // 'V' is never localized; servers before 9.6 send only 'S'.
                case (byte)'V' or (byte)'S': fatal |= value.SequenceEqual("FATAL"u8) || value.SequenceEqual("PANIC"u8); break;
            }
            body = body[(end + 2)..];
        }
        return new PgError(sqlState, message, detail, hint);
    }

    public static ReadOnlySpan<byte> Body(in ReadOnlySequence<byte> frame)
    {
        var body = frame.Slice(FrameHeader.Size);
        return body.IsSingleSegment ? body.FirstSpan : body.ToArray();
    }
}
