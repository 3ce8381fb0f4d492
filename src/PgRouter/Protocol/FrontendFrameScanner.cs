using System.Buffers;

namespace PgRouter.Protocol;

/// <summary>
/// Checks the frames a client sends after startup: type and length as PostgreSQL would, so garbage
/// is stopped here, and Terminate, after which nothing more is read.
/// </summary>
internal static class FrontendFrameScanner
{
    /// <returns>How far the bytes may be forwarded: whole valid frames and the begun part of one.</returns>
    public static SequencePosition Scan(in ReadOnlySequence<byte> buffer, ref FrameWalker walker, int maxMessageBytes, out PgError? violation, out bool terminate)
    {
        violation = null;
        terminate = false;
        var reader = new SequenceReader<byte>(buffer);
        if (!walker.SkipPending(ref reader))
        {
            return reader.Position;
        }
        while (FrameHeader.TryPeek(ref reader, out var header))
        {
            int maxLength = FrontendMessageRules.MaxLength(header.Type, maxMessageBytes);
            if (maxLength == 0)
            {
                violation = new PgError(SqlState.ProtocolViolation, $"invalid frontend message type {header.Type}");
                break;
            }
            if (header.Length < 4 || header.Length > maxLength)
            {
                violation = new PgError(SqlState.ProtocolViolation, $"invalid message length {header.Length} for message type '{(char)header.Type}'");
                break;
            }
            if (!walker.Pass(ref reader, header))
            {
                break;
            }
            if (header.Type == FrontendMessage.Terminate)
            {
                terminate = true;
                break;
            }
        }
        return reader.Position;
    }
}
