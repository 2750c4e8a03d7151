package cityworks

import (
	"context"
	"slices"
)

// ---- templates, questions and answers ----

// Problems lists service-request problems (ServiceRequest/Problems).
func (c *Client) Problems(ctx context.Context, f ProblemFilter) ([]Problem, error) {
	var out []Problem
	_, err := c.call(ctx, rpc{op: "list problems", path: "Ams/ServiceRequest/Problems", data: &f}, &out)
	return out, err
}

// RequestTemplates lists service-request templates; MinimumDateModified makes it incremental.
func (c *Client) RequestTemplates(ctx context.Context, f RequestTemplateFilter) ([]RequestTemplate, error) {
	var out []RequestTemplate
	_, err := c.call(ctx, rpc{op: "list request templates", path: "Ams/ServiceRequestTemplate/Templates", data: &f}, &out)
	return out, err
}

// ProblemQA returns one problem's questions and answers (ServiceRequest/QA).
func (c *Client) ProblemQA(ctx context.Context, problemSid int) (*ProblemQA, error) {
	var out ProblemQA
	if _, err := c.call(ctx, rpc{op: "get problem questions", path: "Ams/ServiceRequest/QA",
		data: map[string]int{"ProblemSid": problemSid}}, &out); err != nil {
		return nil, err
	}
	if out.ProblemSid == 0 {
		out.ProblemSid = problemSid
	}
	return &out, nil
}

// ProblemQAs returns several problems' questions and answers in one call per 100 problems
// (ServiceRequestTemplate/QA), keyed by ProblemSid.
func (c *Client) ProblemQAs(ctx context.Context, problemSids ...int) (map[int]ProblemQA, error) {
	out := map[int]ProblemQA{}
	for batch := range slices.Chunk(problemSids, batchSize) {
		var page []ProblemQA
		if _, err := c.call(ctx, rpc{op: "get problems questions", path: "Ams/ServiceRequestTemplate/QA",
			data: map[string][]int{"ProblemSids": batch}}, &page); err != nil {
			return nil, err
		}
		for _, qa := range page {
			out[qa.ProblemSid] = qa
		}
	}
	return out, nil
}
