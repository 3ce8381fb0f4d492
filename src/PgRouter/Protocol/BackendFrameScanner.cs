using System.Buffers;

namespace PgRouter.Protocol;

/// <summary>Sees, whole, the backend messages a session acts on.</summary>
internal interface IBackendMessageObserver
{
    /// <summary>Called for ReadyForQuery, ErrorResponse and ParameterStatus; false stops the scan right after this frame.</summary>
    bool OnMessage(byte type, in ReadOnlySequence<byte> frame);
}

/// <summary>
/// Walks what a server sends: most frames pass by their header alone (a DataRow body is never
/// read), the few that matter are handed whole to an observer.
/// </summary>
internal static class BackendFrameScanner
{
    /// <returns>How far the bytes may be forwarded; a watched frame not yet complete is left for the next read.</returns>
    public static SequencePosition Scan<TObserver>(in ReadOnlySequence<byte> buffer, ref FrameWalker walker, TObserver observer, out bool malformed)
        where TObserver : IBackendMessageObserver
    {
        malformed = false;
        var reader = new SequenceReader<byte>(buffer);
        if (!walker.SkipPending(ref reader))
        {
            return reader.Position;
        }
        while (FrameHeader.TryPeek(ref reader, out var header))
        {
            if (header.Length < 4)
            {
                malformed = true;
                break;
            }
            if (header.Type is BackendMessage.ReadyForQuery or BackendMessage.ErrorResponse or BackendMessage.ParameterStatus)
            {
                if (reader.Remaining < header.FrameSize)
                {
                    break;
                }
                bool goOn = observer.OnMessage(header.Type, reader.UnreadSequence.Slice(0, header.FrameSize));
                reader.Advance(header.FrameSize);
                if (!goOn)
                {
                    break;
                }
            }
            else if (!walker.Pass(ref reader, header))
            {
                break;
            }
        }
        return reader.Position;
    }
}
