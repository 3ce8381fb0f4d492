namespace PgRouter.Protocol;

/// <summary>Messages PgRouter itself sends to clients.</summary>
internal static class BackendMessages
{
    /// <summary>The one-byte answer refusing SSLRequest or GSSENCRequest.</summary>
    public static readonly byte[] EncryptionRefused = [(byte)'N'];

    public static byte[] ErrorResponse(PgError error, bool fatal)
    {
        string severity = fatal ? "FATAL" : "ERROR";
        var builder = new MessageBuilder(BackendMessage.ErrorResponse)
            .WriteByte((byte)'S').WriteCString(severity)
            .WriteByte((byte)'V').WriteCString(severity)
            .WriteByte((byte)'C').WriteCString(error.SqlState)
            .WriteByte((byte)'M').WriteCString(error.Message);
        if (error.Detail is not null)
        {
            builder.WriteByte((byte)'D').WriteCString(error.Detail);
        }
        if (error.Hint is not null)
        {
            builder.WriteByte((byte)'H').WriteCString(error.Hint);
        }
        return builder.WriteByte(0).ToArray();
    }

    public static readonly byte[] AuthenticationOk = Authentication(AuthenticationCode.Ok, []);

    /// <summary>AuthenticationRequest: a code and its data (salt, mechanisms, SCRAM message).</summary>
    public static byte[] Authentication(int code, ReadOnlySpan<byte> data) =>
        new MessageBuilder(BackendMessage.Authentication).WriteInt32(code).WriteBytes(data).ToArray();

    /// <summary>AuthenticationSASL: the mechanisms on offer, each NUL-terminated, then an empty one.</summary>
    public static byte[] AuthenticationSasl(IEnumerable<string> mechanisms)
    {
        var builder = new MessageBuilder(BackendMessage.Authentication).WriteInt32(AuthenticationCode.Sasl);
        foreach (string mechanism in mechanisms)
        {
            builder.WriteCString(mechanism);
        }
        return builder.WriteByte(0).ToArray();
    }

    public static byte[] ParameterStatus(string name, string value) =>
        new MessageBuilder(BackendMessage.ParameterStatus).WriteCString(name).WriteCString(value).ToArray();

    public static byte[] ReadyForQuery(TransactionStatus status) =>
        new MessageBuilder(BackendMessage.ReadyForQuery).WriteByte((byte)status).ToArray();

    public static byte[] BackendKeyData(CancelKey key) =>
        new MessageBuilder(BackendMessage.BackendKeyData).WriteInt32(key.ProcessId).WriteInt32(key.SecretKey).ToArray();

    /// <summary>Tells a client that asked for a newer 3.x minor version, or sent _pq_ options, what we speak.</summary>
    public static byte[] NegotiateProtocolVersion(int newestVersion, IReadOnlyList<string> unrecognizedOptions)
    {
        var builder = new MessageBuilder(BackendMessage.NegotiateProtocolVersion)
            .WriteInt32(newestVersion)
            .WriteInt32(unrecognizedOptions.Count);
        foreach (string option in unrecognizedOptions)
        {
            builder.WriteCString(option);
        }
        return builder.ToArray();
    }
}
