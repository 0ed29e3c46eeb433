using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OrleansWs.Testing;

/// <summary>
/// Every log line of the test app's silos and gateways, so a test can fail on an unexpected error
/// and wait on an expected event instead of sleeping.
/// </summary>
public sealed class TestLogSink : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();
    private long _sequence;

    /// <summary>The entries so far, oldest first.</summary>
    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    /// <summary>A mark to pass to <see cref="ErrorsSince"/>.</summary>
    public long Mark() => Interlocked.Read(ref _sequence);

    /// <summary>Errors and critical entries logged after <paramref name="mark"/>, except those whose EventName is allowed.</summary>
    public IReadOnlyList<LogEntry> ErrorsSince(long mark, params string[] allowedEventNames) =>
        _entries.Where(e => e.Sequence > mark && e.Level >= LogLevel.Error && !allowedEventNames.Contains(e.EventName)).ToArray();

    /// <summary>Throws when an error was logged after <paramref name="mark"/> whose EventName is not allowed.</summary>
    public void AssertNoErrorsSince(long mark, params string[] allowedEventNames)
    {
        var errors = ErrorsSince(mark, allowedEventNames);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("Unexpected error logs:\n" + string.Join("\n", errors));
        }
    }

    /// <summary>The errors logged so far whose message names <paramref name="subject"/> (e.g. a peer id), one per line with its exception's message.</summary>
    public string DescribeErrorsAbout(string subject) => string.Join("\n", _entries
        .Where(e => e.Level >= LogLevel.Error && e.Message.Contains(subject, StringComparison.Ordinal))
        .Select(e => $"[{e.Level}] {e.EventName}: {e.Message}{(e.Exception is { } ex ? $" ({ex.GetType().Name}: {ex.Message})" : "")}"));

    ILogger ILoggerProvider.CreateLogger(string categoryName) => new Logger(this, categoryName);

    void IDisposable.Dispose()
    {
    }

    /// <summary>One log line.</summary>
    public sealed record LogEntry(long Sequence, LogLevel Level, string Category, string? EventName, string Message, Exception? Exception)
    {
        /// <inheritdoc />
        public override string ToString() => $"[{Level}] {Category} {EventName}: {Message}{(Exception is null ? "" : "\n" + Exception)}";
    }

    private sealed class Logger(TestLogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information
            || category.StartsWith("OrleansWs", StringComparison.Ordinal);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var sequence = Interlocked.Increment(ref sink._sequence);
            sink._entries.Enqueue(new LogEntry(sequence, logLevel, category, eventId.Name, formatter(state, exception), exception));
        }
    }
}
