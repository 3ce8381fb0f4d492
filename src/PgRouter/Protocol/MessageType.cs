namespace PgRouter.Protocol;

/// <summary>
/// The message type bytes PgRouter looks at. The same letter means different things in the two
/// directions (S = Sync / ParameterStatus, E = Execute / ErrorResponse), hence two classes.
/// </summary>
internal static class FrontendMessage
{
    public const byte Bind = (byte)'B';
    public const byte Close = (byte)'C';
    public const byte Describe = (byte)'D';
    public const byte Execute = (byte)'E';
    public const byte FunctionCall = (byte)'F';
    public const byte Flush = (byte)'H';
    public const byte Parse = (byte)'P';
    public const byte Query = (byte)'Q';
    public const byte Sync = (byte)'S';
    public const byte Terminate = (byte)'X';
    public const byte CopyData = (byte)'d';
    public const byte CopyDone = (byte)'c';
    public const byte CopyFail = (byte)'f';
    public const byte Password = (byte)'p';
}

internal static class BackendMessage
{
    public const byte Authentication = (byte)'R';
    public const byte BackendKeyData = (byte)'K';
    public const byte ParameterStatus = (byte)'S';
    public const byte ReadyForQuery = (byte)'Z';
    public const byte ErrorResponse = (byte)'E';
    public const byte NoticeResponse = (byte)'N';
    public const byte NegotiateProtocolVersion = (byte)'v';
    public const byte RowDescription = (byte)'T';
    public const byte DataRow = (byte)'D';
    public const byte CommandComplete = (byte)'C';
    public const byte CopyData = (byte)'d';
    public const byte ParseComplete = (byte)'1';
    public const byte BindComplete = (byte)'2';
    public const byte CloseComplete = (byte)'3';
    public const byte ParameterDescription = (byte)'t';
    public const byte NoData = (byte)'n';
    public const byte EmptyQueryResponse = (byte)'I';
    public const byte PortalSuspended = (byte)'s';
}

/// <summary>Codes of AuthenticationRequest ('R') messages.</summary>
internal static class AuthenticationCode
{
    public const int Ok = 0;
    public const int CleartextPassword = 3;
    public const int Md5Password = 5;
    public const int Sasl = 10;
    public const int SaslContinue = 11;
    public const int SaslFinal = 12;
}
