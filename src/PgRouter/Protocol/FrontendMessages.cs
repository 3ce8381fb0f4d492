namespace PgRouter.Protocol;

/// <summary>Messages PgRouter sends to servers on its own account (logins, probes, cancels).</summary>
internal static class FrontendMessages
{
    public static readonly byte[] Terminate = [FrontendMessage.Terminate, 0, 0, 0, 4];

    public static byte[] StartupMessage(StartupParameters parameters)
    {
        var builder = new MessageBuilder(type: null).WriteInt32(StartupCodes.ProtocolVersion30);
        foreach (var (name, value) in parameters.Items)
        {
            builder.WriteCString(name).WriteBytes(value).WriteByte(0);
        }
        return builder.WriteByte(0).ToArray();
    }

    public static byte[] SslRequest() => new MessageBuilder(type: null).WriteInt32(StartupCodes.SslRequest).ToArray();

    public static byte[] CancelRequest(CancelKey key) =>
        new MessageBuilder(type: null).WriteInt32(StartupCodes.CancelRequest).WriteInt32(key.ProcessId).WriteInt32(key.SecretKey).ToArray();

    public static byte[] Query(string sql) => new MessageBuilder(FrontendMessage.Query).WriteCString(sql).ToArray();

    /// <summary>Parse, Bind, Execute and Sync of an unnamed statement with text parameters and text results.</summary>
    public static byte[] ExtendedQuery(string sql, IReadOnlyList<string?> parameters)
    {
        byte[] parse = new MessageBuilder(FrontendMessage.Parse).WriteCString("").WriteCString(sql).WriteInt16(0).ToArray();
        var bind = new MessageBuilder(FrontendMessage.Bind).WriteCString("").WriteCString("").WriteInt16(0).WriteInt16((short)parameters.Count);
        foreach (string? parameter in parameters)
        {
            if (parameter is null)
            {
                bind.WriteInt32(-1);
            }
            else
            {
                byte[] value = System.Text.Encoding.UTF8.GetBytes(parameter);
                bind.WriteInt32(value.Length).WriteBytes(value);
            }
        }
        byte[] execute = new MessageBuilder(FrontendMessage.Execute).WriteCString("").WriteInt32(0).ToArray();
        byte[] sync = new MessageBuilder(FrontendMessage.Sync).ToArray();
        return [.. parse, .. bind.WriteInt16(0).ToArray(), .. execute, .. sync];
    }

    /// <summary>PasswordMessage and SASLResponse share the 'p' type; the body is opaque here.</summary>
    public static byte[] Password(ReadOnlySpan<byte> body) => new MessageBuilder(FrontendMessage.Password).WriteBytes(body).ToArray();

    public static byte[] SaslInitialResponse(string mechanism, ReadOnlySpan<byte> data) =>
        new MessageBuilder(FrontendMessage.Password).WriteCString(mechanism).WriteInt32(data.Length).WriteBytes(data).ToArray();
}
