namespace PgRouter.Protocol;

/// <summary>The Int32 codes that open the first packet of a connection (it has no type byte).</summary>
internal static class StartupCodes
{
    public const int ProtocolVersion30 = 3 << 16;
    public const int SslRequest = 80877103;
    public const int GssEncRequest = 80877104;
    public const int CancelRequest = 80877102;

    /// <summary>PostgreSQL refuses longer startup packets (MAX_STARTUP_PACKET_LENGTH).</summary>
    public const int MaxStartupPacketLength = 10_000;
}
