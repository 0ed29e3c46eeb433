using System.Diagnostics;

namespace OrleansWs.SystemTests;

/// <summary>A command the tests run to its end: bounded in time, killed with its children when it overruns.</summary>
internal static class ProcessRun
{
    public sealed record Result(int ExitCode, string Output, string Errors);

    public static async Task<Result> Run(
        string file, IEnumerable<string> args, TimeSpan limit, string? directory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (directory is not null)
        {
            start.WorkingDirectory = directory;
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', start.ArgumentList)} took over {limit}.");
        }

        return new Result(process.ExitCode, await output, await errors);
    }
}
