namespace PgRouter.Protocol;

/// <summary>The process id and secret key of BackendKeyData and CancelRequest (protocol 3.0).</summary>
internal readonly record struct CancelKey(int ProcessId, int SecretKey);

/// <summary>
/// How PgRouter's cancel keys carry the id of the instance that issued them (Peering:Id): in bits
/// 23-30 of the process id, so that process ids stay positive and each instance has 8 million of its own.
/// </summary>
internal static class CancelKeys
{
    public const int MaxPeerId = 255;
    private const int PeerShift = 23;
    private const int SerialMask = (1 << PeerShift) - 1;

    public static int PeerOf(int processId) => (processId >> PeerShift) & MaxPeerId;

    public static int ProcessId(int peerId, int serial) => (peerId << PeerShift) | (serial & SerialMask);
}
