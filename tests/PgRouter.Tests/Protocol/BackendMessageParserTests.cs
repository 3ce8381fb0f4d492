using System.Buffers;
using PgRouter.Protocol;
using PgRouter.Tests.Support;
using Xunit;

namespace PgRouter.Tests.Protocol;

public class BackendMessageParserTests
{
    [Fact]
    public void ErrorResponse_ReadsCodeMessageDetailAndHint()
    {
        byte[] frame = Messages.Frame('E',
            [(byte)'S'], Messages.CString("FATAL"), [(byte)'V'], Messages.CString("FATAL"),
            [(byte)'C'], Messages.CString("57P01"), [(byte)'M'], Messages.CString("terminating connection due to administrator command"),
            [(byte)'D'], Messages.CString("detail"), [(byte)'H'], Messages.CString("hint"), [0]);

        var error = BackendMessageParser.ErrorResponse(Sequences.OneSegmentPerByte(frame));

        Assert.Equal(new PgError("57P01", "terminating connection due to administrator command", "detail", "hint"), error);
    }

    [Fact]
    public void ParameterStatus_ReadsNameAndValue()
    {
        var (name, value) = BackendMessageParser.ParameterStatus(Sequences.SplitAt(Messages.ParameterStatus("in_hot_standby", "on"), 7));

        Assert.Equal("in_hot_standby", name);
        Assert.Equal("on", value);
    }

    [Fact]
    public void ReadyForQueryStatus_IsTheSixthByte()
    {
        Assert.Equal(TransactionStatus.Idle, BackendMessageParser.ReadyForQueryStatus(Sequences.OneSegmentPerByte(Messages.ReadyForQuery('I'))));
        Assert.Equal(TransactionStatus.InTransaction, BackendMessageParser.ReadyForQueryStatus(Sequences.OneSegmentPerByte(Messages.ReadyForQuery('T'))));
        Assert.Equal(TransactionStatus.Failed, BackendMessageParser.ReadyForQueryStatus(Sequences.OneSegmentPerByte(Messages.ReadyForQuery('E'))));
    }

    [Fact]
    public void BackendKeyData_ReadsProcessIdAndSecret()
    {
        byte[] frame = Messages.Frame('K', Messages.Int32(31337), Messages.Int32(unchecked((int)0xDEADBEEF)));

        Assert.Equal(new CancelKey(31337, unchecked((int)0xDEADBEEF)), BackendMessageParser.BackendKeyData(Sequences.OneSegmentPerByte(frame)));
    }

    [Fact]
    public void BuiltErrorResponse_RoundTripsThroughTheParser()
    {
        var error = new PgError("57P03", "no primary", "leader pg1 is being promoted", "retry");

        byte[] frame = BackendMessages.ErrorResponse(error, fatal: true);

        Assert.Equal(error, BackendMessageParser.ErrorResponse(new ReadOnlySequence<byte>(frame)));
        Assert.True(frame.AsSpan().IndexOf("SFATAL\0VFATAL\0"u8) > 0);
    }
}
